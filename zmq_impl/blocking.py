"""The blocking form of a role's waits on its sockets; tasks.py has the asyncio one. Each role's loop is
written once over a form (shared/core/channel.py), and every call it makes through one is awaited.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import zmq

from shared.core.channel import pause, wait
from shared.core.config import RunConfig
from zmq_impl.connection import sender, shared_context

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
    """How a role waits on its sockets, in the blocking form: a socket's calls, each as a coroutine function
    that makes the plain call and never suspends, so that a loop over it runs under
    shared.core.channel.complete. tasks.Awaiting, the asyncio form, overrides every member."""

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
        recv = socket.recv

        async def receive() -> bytes:
            return recv()
        return receive

    @staticmethod
    def sender(socket: zmq.Socket, config: RunConfig) -> Callable:
        send = sender(socket, config)

        async def sent(frame: bytes) -> None:
            send(frame)
        return sent

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

        async def receive() -> bytes:
            recv(zmq.NOBLOCK)
            return recv()
        return receive

    @staticmethod
    def delimited_sender(socket: zmq.Socket, config: RunConfig) -> Callable:
        """A request through a DEALER, which adds no envelope of its own: the empty delimiter a REP
        expects first."""
        send, send_frame = socket.send, sender(socket, config)

        async def sent(frame: bytes) -> None:
            send(b"", zmq.SNDMORE)
            send_frame(frame)
        return sent


def blocking(call: Callable) -> Callable:
    """`call` as a coroutine function that never suspends."""
    async def called(*args):
        return call(*args)
    return called


Form = Blocking  # the type of either form
BLOCKING = Blocking()
