"""`--concurrency asyncio`: the responder and the requester as asyncio tasks, on `zmq.asyncio` sockets that
make every send and receive awaitable, so that one event loop on one thread holds a thousand requests in
flight. Each coroutine is its blocking counterpart in responder.py or requester.py, with `await` where that
one blocks; the broker stays `zmq.proxy`, a blocking C call, in a thread of its own.

Unlike a Racket green thread blocked in a ZeroMQ call (the seed's reason for places), a task waiting here
leaves the loop free: libzmq tells the loop through its file descriptor when a socket is ready.
"""

from __future__ import annotations

import asyncio
import math
import time

import zmq
import zmq.asyncio

from shared.config import START_DEADLINE, RunConfig
from shared.pipeline import pipeline_async
from shared.results import RequesterResult, Tally, no_reply
from shared.roles import notice_level
from shared.workload import BadRequests, answer, responder_handler, workload_for
from zmq_impl.codec import CODECS, ID_BYTES, ID_MARKER, carries_id, error_reply, request_id, split_id
from zmq_impl.requester import peer_name
from zmq_impl.responder import frames_reply
from zmq_impl.server import (
    Handshake,
    Peer,
    bind,
    connect,
    crosses_tcp,
    monitor_socket,
    secure_client,
    secure_server,
    shared_context,
    start_authenticator,
    stop_monitor,
)


def asyncio_context() -> zmq.asyncio.Context:
    """A shadow of this process's context: awaitable sockets, and inproc reaches the broker's thread."""
    return zmq.asyncio.Context(shared_context())


async def connect_async(socket: zmq.asyncio.Socket, config: RunConfig, peer: Peer) -> None:
    """server.connect, awaiting the handshake on an awaitable monitor: a thousand requester tasks wait for
    their broker on the loop, and a task cancelled meanwhile stops its monitor on the way out."""
    monitor = monitor_socket(socket, asyncio_context())
    try:
        socket.connect(peer.address)
        handshake = Handshake(peer, config.timeout)
        while not (await monitor.poll(handshake.wait_ms()) and handshake.done(await monitor.recv_multipart())):
            pass
    finally:
        stop_monitor(socket, monitor)


async def respond(config: RunConfig, index: int, ready) -> None:
    """responder.respond as a task: every request gets a reply, an error reply if need be, and a request
    whose handling raises does not stop the loop (nor, with rpc, is it more than a 500 reply)."""
    handle = responder_handler(config.workload)
    codec = CODECS[config.codec]
    bad = BadRequests(index)
    handler = watch = None
    socket = asyncio_context().socket(zmq.REP)
    try:
        socket.linger = 0
        socket.maxmsgsize = config.max_message_bytes
        if config.example == "hello":  # example 1: no broker, REP meets REQ directly
            secure_server(socket, config)
            handler = start_authenticator(config)
            bind(socket, config.address)
        elif crosses_tcp(config.back_address):
            secure_client(socket, config)
            peer = Peer(f"zmq responder {index}", "zmq broker", config.back_address, notice_level(index))
            watch = await asyncio.to_thread(connect, socket, config, peer, watch=True)  # its wait blocks
        else:  # inproc: the broker, a thread of this process, is bound already
            socket.connect(config.back_address)
        ready.set()
        recv, send, decode, encode = socket.recv, socket.send, codec.decode, codec.encode
        while True:
            frame = await recv()
            if len(frame) > ID_BYTES and frame[0] == ID_MARKER:
                number, body = frame[:ID_BYTES], memoryview(frame)[ID_BYTES:]
            else:
                number, body = b"", frame
            try:
                reply = encode(handle(decode(body)))
            except Exception:
                reply = answer(handle, codec, body, error_reply, bad)  # again, step by step, to name the stage
            try:
                await send(number + reply)
            except zmq.ZMQError as error:
                if error.errno != zmq.EFSM:
                    raise
                await socket.send(frames_reply(number, await socket.recv_multipart(), codec, bad))
    except zmq.ContextTerminated:
        pass
    finally:
        if watch is not None:
            watch.stop()
        socket.close()
        if handler is not None:
            handler.stop()


async def open_socket(config: RunConfig, requester_id: int | None = None) -> zmq.asyncio.Socket:
    """requester.open_socket for a task: the wait for the broker's handshake is awaited on the loop."""
    socket = asyncio_context().socket(zmq.REQ)
    address = config.router_address or config.address
    try:
        socket.linger = 0
        socket.rcvtimeo = socket.sndtimeo = int(config.timeout * 1000)
        if not config.router_address:
            secure_client(socket, config)
        if requester_id is not None:
            peer = Peer(f"zmq requester {requester_id}", peer_name(config), address, notice_level(requester_id))
            await connect_async(socket, config, peer)
        else:
            socket.connect(address)
    except BaseException:
        socket.close()
        raise
    return socket


async def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """requester.request as a task: `start` is a barrier of tasks (shared.event_loop.LoopBarrier)."""
    workload, codec = workload_for(config), CODECS[config.codec]
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress)
    if config.lockstep:
        return await lockstep(config, requester_id, workload, codec, tally, start)
    channel = DealerChannel(config, codec)
    try:
        await channel.connect(requester_id)
        await start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        await pipeline_async(channel, config, requester_id, workload, tally)
        return tally.close(began, time.perf_counter())
    finally:
        channel.close()


async def lockstep(config: RunConfig, requester_id: int, workload, codec, tally: Tally, start) -> RequesterResult:
    """One request at a time on a REQ socket, in the Lazy Pirate way."""
    make, encode = workload.request, codec.encode
    planned = tally.result.planned
    clock = time.perf_counter_ns if config.record_latency else int
    with_id = carries_id(codec)
    socket = await open_socket(config, requester_id)
    try:
        await start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        for n in range(planned):
            req = make(requester_id, n)
            number = request_id(n) if with_id else b""
            frame = number + encode(req)
            sent = clock()
            try:
                await socket.send(frame)
                reply = await socket.recv()
            except zmq.Again:
                reply = None
            if reply is None or not reply.startswith(number):
                socket, reply = await resend(config, socket, frame, number, reply, tally)
                if reply is None:
                    tally.give_up(no_reply(config))
                    break
            tally.record(n, clock() - sent, req, reply[len(number):] if number else reply)
        return tally.close(began, time.perf_counter())
    finally:
        socket.close()


async def resend(config: RunConfig, socket: zmq.asyncio.Socket, frame: bytes, number: bytes,
                 reply: bytes | None, tally: Tally) -> tuple[zmq.asyncio.Socket, bytes | None]:
    """requester.resend: a new REQ socket per try, up to `retries` times."""
    for _ in range(config.retries):
        if reply is None:
            socket.close()
            socket = await open_socket(config)
        else:
            tally.duplicate()
        tally.retry()
        try:
            await socket.send(frame)
            reply = await socket.recv()
        except zmq.Again:
            reply = None
            continue
        if reply.startswith(number):
            return socket, reply
    if reply is None:
        return socket, None
    tally.duplicate()
    return socket, None


class DealerChannel:
    """requester.DealerChannel with awaitable sends and receives."""

    def __init__(self, config: RunConfig, codec) -> None:
        self.config, self.encode = config, codec.encode
        self.socket = asyncio_context().socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.sndtimeo = int(config.timeout * 1000)

    async def connect(self, requester_id: int) -> None:
        config = self.config
        address = config.router_address or config.address
        if not config.router_address:
            secure_client(self.socket, config)
        peer = Peer(f"zmq requester {requester_id}", peer_name(config), address, notice_level(requester_id))
        await connect_async(self.socket, config, peer)

    async def send(self, n: int, request) -> None:
        await self.socket.send_multipart((b"", request_id(n) + self.encode(request)))

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
            number, body = split_id(frame)
            replies.append((int.from_bytes(number[1:], "big") if number else -1, body))

    def close(self) -> None:
        self.socket.close()
