"""The blocking form of a role's waits on its sockets; tasks.py has the asyncio one. Each role's loop is
written once over a form (shared/core/channel.py): it awaits the form's calls, but for the sends and receives
made once per message, which it awaits only where the form is `asynchronous`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import zmq

from shared.core.channel import pause, wait
from shared.core.config import RunConfig
from zmq_impl.connection import shared_context, small_frames

SNDMORE, RCVMORE = int(zmq.SNDMORE), int(zmq.RCVMORE)  # plain ints: an enum costs a lookup per frame


def receive_frames(socket: zmq.Socket) -> list[bytes]:
    """A message of several frames. pyzmq's recv_multipart costs about four times this on small frames, once
    per request and per reply here, where zmq.proxy moves them in C."""
    recv, more = socket.recv, socket.get
    frames = [recv()]
    while more(RCVMORE):
        frames.append(recv())
    return frames


def send_frames(socket: zmq.Socket, frames: list[bytes], flags: int = 0) -> None:
    """send_multipart, as `receive_frames` is recv_multipart. Once the first frame is taken, the others are
    too."""
    put, more = socket.send, flags | SNDMORE
    for frame in frames[:-1]:
        put(frame, more)
    put(frames[-1], flags)


class Blocking:
    """How a role waits on its sockets, in the blocking form, so that a loop over it runs under
    shared.core.channel.complete: a socket's sends and receives of single frames (`receiver`, `sender` and
    the delimited ones), made once per message, as plain calls; the others as coroutine functions that make
    the plain call and never suspend. tasks.Awaiting, the asyncio form, overrides every member."""

    asynchronous = False
    sleep, wait = staticmethod(pause), staticmethod(wait)
    context = staticmethod(shared_context)

    @staticmethod
    def poller(socket: zmq.Socket) -> Callable:
        poller = zmq.Poller()  # one for the socket: Socket.poll makes a new one each time
        poller.register(socket, zmq.POLLIN)
        return blocking(poller.poll)

    @staticmethod
    def receiver(socket: zmq.Socket) -> Callable:
        return socket.recv

    @staticmethod
    def sender(socket: zmq.Socket, config: RunConfig) -> Callable:
        """The socket's send for this run's frames (see connection.small_frames)."""
        send = plain_send(socket)
        return send if small_frames(config) else functools.partial(send, copy=False)

    @staticmethod
    def frames_receiver(socket: zmq.Socket) -> Callable:
        return blocking(functools.partial(receive_frames, socket))

    @staticmethod
    def frames_sender(socket: zmq.Socket) -> Callable:
        return blocking(functools.partial(send_frames, socket))

    @staticmethod
    def delimited_receiver(socket: zmq.Socket) -> Callable:
        """A reply through a DEALER: the empty delimiter a REP responder sends back, then the reply; every
        receive but the first frame's waits for nothing (a message's frames come together)."""
        recv = socket.recv

        def receive() -> bytes:
            recv(zmq.NOBLOCK)
            return recv()
        return receive

    @staticmethod
    def delimited_sender(socket: zmq.Socket, config: RunConfig) -> Callable:
        """A request through a DEALER, which adds no envelope of its own: the empty delimiter a REP
        expects first."""
        send, send_frame = plain_send(socket), Blocking.sender(socket, config)

        def sent(frame: bytes) -> None:
            send(b"", SNDMORE)
            send_frame(frame)
        return sent


def plain_send(socket: zmq.Socket) -> Callable:
    """The socket's send without pyzmq's Python layer over it (a draft socket's routing_id and group, which no
    role uses): its C method, about 0.25 µs less a frame."""
    return super(zmq.Socket, socket).send


def blocking(call: Callable) -> Callable:
    """`call` as a coroutine function that never suspends."""
    async def called(*args):
        return call(*args)
    return called


Form = Blocking  # the type of either form
BLOCKING = Blocking()
