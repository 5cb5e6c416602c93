"""`--concurrency asyncio`: the responder and the requester as asyncio tasks, on `zmq.asyncio` sockets that
make every send and receive awaitable, so that one event loop on one thread holds a thousand requests in
flight. Each runs the same loop as its blocking counterpart (responder.responding, requester.requesting)
in the asyncio form below; the broker (zmq.proxy, a blocking C call, or the balancing broker's loop) stays
in a thread of its own.

Unlike a Racket green thread blocked in a ZeroMQ call (the seed's reason for places), a task waiting here
leaves the loop free: libzmq tells the loop through its file descriptor when a socket is ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from operator import attrgetter

import zmq
import zmq.asyncio

from shared.core.config import RunConfig
from shared.core.results import RequesterResult
from zmq_impl.blocking import Blocking
from zmq_impl.connection import asyncio_context, sender, small_frames
from zmq_impl.requester import requesting
from zmq_impl.responder import responding


async def respond(config: RunConfig, index: int, ready) -> None:
    """responder.respond as a task."""
    await responding(config, index, ready, AWAITING)


async def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """requester.request as a task: `start` is a barrier of tasks (shared.core.event_loop.LoopBarrier)."""
    return await requesting(config, requester_id, start, progress, AWAITING)


async def wait(start, seconds: float) -> None:
    await start.wait(seconds)


class Awaiting(Blocking):
    """The asyncio form of a role's waits on its sockets: a zmq.asyncio socket's own awaitables."""

    asynchronous = True
    sleep, wait = staticmethod(asyncio.sleep), staticmethod(wait)
    context = staticmethod(asyncio_context)
    poller, receiver = attrgetter("poll"), attrgetter("recv")  # socket -> its method, which returns a future
    frames_receiver, frames_sender = attrgetter("recv_multipart"), attrgetter("send_multipart")
    sender = staticmethod(sender)  # the socket's send, with copy=False where the frames may be large

    @staticmethod
    def delimited_receiver(socket: zmq.asyncio.Socket) -> Callable:
        async def receive() -> bytes:
            return (await socket.recv_multipart(zmq.NOBLOCK))[1]
        return receive

    @staticmethod
    def delimited_sender(socket: zmq.asyncio.Socket, config: RunConfig) -> Callable:
        copy, send = small_frames(config), socket.send_multipart  # False: the frames may be large (--payload)
        return lambda frame: send((b"", frame), copy=copy)


AWAITING = Awaiting()
