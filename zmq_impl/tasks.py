"""`--concurrency asyncio`: the responder and the requester as asyncio tasks, on `zmq.asyncio` sockets that
make every send and receive awaitable, so that one event loop on one thread holds a thousand requests in
flight. Each drives the same core as its blocking counterpart (responder.answerer, shared/core/lockstep.py,
shared/core/pipeline.py) with `await` where that one blocks, and the balancing broker's responders their `Duty`;
the broker (zmq.proxy, a blocking C call, or the balancing broker's loop) stays in a thread of its own.

Unlike a Racket green thread blocked in a ZeroMQ call (the seed's reason for places), a task waiting here
leaves the loop free: libzmq tells the loop through its file descriptor when a socket is ready.
"""

from __future__ import annotations

import asyncio
import math
import time

import zmq
import zmq.asyncio

from shared.core.config import START_DEADLINE, RunConfig
from shared.core.lockstep import Exchange, lockstep
from shared.core.pipeline import pipeline_async
from shared.core.results import RequesterResult, Tally, shows_exchanges
from shared.core.service_time import service_delay
from shared.core.workload import BadRequests, workload_for
from zmq_impl.balancing import Frames
from zmq_impl.codec import CODECS, framing, own_codec
from zmq_impl.connection import client_socket, connect_async, reach, sender, small_frames
from zmq_impl.requester import peer_of, requester_key
from zmq_impl.responder import (
    answerer,
    balanced,
    duty,
    frames_reply,
    listen_or_connect,
    responder_key,
    routing_id,
)
from zmq_impl.responder import peer_of as responder_peer


async def respond(config: RunConfig, index: int, ready) -> None:
    """responder.respond as a task."""
    if balanced(config):
        await work(config, index, ready)
        return
    bad = BadRequests(index)
    reply_to, delay = answerer(config, bad), service_delay(config)
    socket = client_socket(config, zmq.REP, asynchronous=True, key=responder_key(config))
    handler = None
    try:
        handler, peer = listen_or_connect(config, index, socket)
        if peer is not None:
            await connect_async(config, peer, socket)
        ready.set()
        recv, send = socket.recv, sender(socket, config)
        while True:
            frame = await recv()
            if delay:
                await asyncio.sleep(delay())
            try:
                await send(reply_to(frame))
            except zmq.ZMQError as error:
                if error.errno != zmq.EFSM:
                    raise
                frames = [frame, *await socket.recv_multipart()]
                await socket.send(frames_reply(frames, CODECS[config.codec], bad))
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()
        if handler is not None:
            handler.stop()


async def work(config: RunConfig, index: int, ready) -> None:
    """responder.work as a task: its service time awaited, so that the loop's other tasks go on."""
    shift, delay = duty(config, index, BadRequests(index)), service_delay(config)
    socket = client_socket(config, zmq.DEALER, asynchronous=True, key=responder_key(config))
    try:
        socket.routing_id = routing_id(index)
        await connect_async(config, responder_peer(config, index), socket)
        await tell(socket, shift.hello())
        ready.set()
        while True:
            if await socket.poll(shift.wait_ms()):
                request = shift.heard(await socket.recv_multipart())
                if request is not None:
                    if delay:
                        await asyncio.sleep(delay())
                    await tell(socket, shift.answer(request))
            await tell(socket, shift.due())
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()


async def tell(socket: zmq.asyncio.Socket, frames: Frames | None) -> None:
    """responder.tell, awaited."""
    if frames is not None:
        try:
            await socket.send_multipart(frames)
        except zmq.Again:
            pass


async def open_socket(config: RunConfig, requester_id: int, kind: int = zmq.REQ, *,
                      wait: bool = True) -> zmq.asyncio.Socket:
    """requester.open_socket for a task: the wait for the broker's handshake is awaited on the loop."""
    peer = peer_of(config, requester_id)
    socket = client_socket(config, kind, asynchronous=True, key=requester_key(config))
    try:
        if wait:
            await connect_async(config, peer, socket)
        else:
            reach(socket, peer.address)
    except BaseException:
        socket.close()
        raise
    return socket


async def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """requester.request as a task: `start` is a barrier of tasks (shared.core.modes.LoopBarrier)."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    if config.lockstep:
        socket = await open_socket(config, requester_id)
        try:
            await start.wait(START_DEADLINE + config.timeout)
        except BaseException:
            socket.close()
            raise
        began = time.perf_counter()
        await drive(lockstep(config, tally, framing(codec)), socket, config, requester_id)
    else:
        channel = DealerChannel(await open_socket(config, requester_id, zmq.DEALER), config)
        try:
            await start.wait(START_DEADLINE + config.timeout)
            began = time.perf_counter()
            await pipeline_async(channel, config, tally, framing(codec))
        finally:
            channel.close()
    return tally.close(began, time.perf_counter())


async def drive(exchange: Exchange, socket: zmq.asyncio.Socket, config: RunConfig, requester_id: int) -> None:
    """requester.drive, awaiting each send and receive."""
    try:
        message = next(exchange)
        send, recv = sender(socket, config), socket.recv
        while True:
            try:
                await send(message)
                reply = await recv()
            except zmq.Again:
                reply = None
                socket.close()
                socket = await open_socket(config, requester_id, wait=False)
                send, recv = sender(socket, config), socket.recv
            try:
                following = exchange.send(reply)
            except StopIteration:
                return
            if following is message and reply is not None:  # sent again after a stray reply, on a new socket:
                socket.close()  # on this one, the answers to both sends would come, a stray for each next request
                socket = await open_socket(config, requester_id, wait=False)
                send, recv = sender(socket, config), socket.recv
            message = following
    finally:
        exchange.close()
        socket.close()


class DealerChannel:
    """requester.DealerChannel with awaitable sends and receives."""

    def __init__(self, socket: zmq.asyncio.Socket, config: RunConfig) -> None:
        self.socket = socket
        self.copy = small_frames(config)  # False: the run's frames may be large (--payload)

    async def send(self, message: bytes) -> None:
        await self.socket.send_multipart((b"", message), copy=self.copy)

    async def flush(self) -> None:
        pass  # every send is on its way already

    async def receive(self, timeout: float) -> list:
        socket, replies = self.socket, []
        if not await socket.poll(math.ceil(timeout * 1000)):
            return replies
        while True:
            try:
                _, frame = await socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return replies
            replies.append(frame)

    def close(self) -> None:
        self.socket.close()
