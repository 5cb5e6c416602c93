"""A requester: a REQ socket that sends its share of the workload in lockstep and checks every reply, or a
DEALER that keeps a window of requests in flight (or sends them on a schedule) through shared/pipeline.py.

It follows ZeroMQ's Lazy Pirate pattern: a request without a reply within the timeout is sent again on a
new socket (a REQ socket that missed a reply can only be closed), up to `retries` times; then the server
is presumed down. Each request carries its number before its body (see codec.py), and a reply must carry
the same number back; the seed's raw format has no room for it, and there REQ alone pairs each reply with
its request.
"""

from __future__ import annotations

import math
import time

import zmq

from shared.config import START_DEADLINE, RunConfig
from shared.pipeline import pipeline
from shared.results import RequesterResult, Tally, no_reply
from shared.roles import notice_level
from shared.workload import DECODE_REPLY, ENCODE_REQUEST, NO_REPLY, Delivery, delivery_of, describe, workload_for
from zmq_impl.codec import CODECS, carries_id, request_id, split_id
from zmq_impl.server import Peer, connect, secure_client, shared_context


def open_socket(config: RunConfig, requester_id: int | None = None) -> zmq.Socket:
    """A REQ socket connected to the broker, or to the local request router with --shared-connection; for a
    requester's first socket, returned once its peer has answered, waiting for it until the timeout as a
    native requester waits for its server."""
    socket = shared_context().socket(zmq.REQ)
    address = config.router_address or config.address
    try:
        socket.linger = 0
        # Both directions have a deadline: a REQ socket with no usable peer (a refused CURVE handshake, say)
        # blocks in send, not in recv.
        socket.rcvtimeo = socket.sndtimeo = int(config.timeout * 1000)
        if not config.router_address:  # the router, on this host, speaks CURVE to the broker for everyone
            secure_client(socket, config)
        if requester_id is not None:
            peer = Peer(f"zmq requester {requester_id}", peer_name(config), address, notice_level(requester_id))
            connect(socket, config, peer)
        else:
            socket.connect(address)
    except BaseException:
        socket.close()
        raise
    return socket


def peer_name(config: RunConfig) -> str:
    if config.router_address:
        return "zmq request router"
    return "zmq broker" if config.example == "router" else "zmq responder"


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier): in lockstep on a REQ socket, as
    the seed does, or through a DEALER with a window of requests in flight or on a schedule."""
    workload, codec = workload_for(config), CODECS[config.codec]
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress)
    if config.lockstep:
        return lockstep(config, requester_id, workload, codec, tally, start)
    channel = DealerChannel(config, codec, requester_id)
    try:
        start.wait(START_DEADLINE + config.timeout)  # the others may still be waiting for the broker
        began = time.perf_counter()
        pipeline(channel, config, requester_id, workload, tally)
        return tally.close(began, time.perf_counter())
    finally:
        channel.close()


def lockstep(config: RunConfig, requester_id: int, workload, codec, tally: Tally, start) -> RequesterResult:
    """One request at a time on a REQ socket, in the Lazy Pirate way."""
    make, encode = workload.request, codec.encode
    planned = tally.result.planned
    clock = time.perf_counter_ns if config.record_latency else int  # int() is 0: recording off, for its cost
    with_id = carries_id(codec)
    socket = open_socket(config, requester_id)
    try:
        start.wait(START_DEADLINE + config.timeout)  # the others may still be waiting for the broker
        began = time.perf_counter()
        for n in range(planned):
            req = make(requester_id, n)
            number = request_id(n) if with_id else b""
            frame = number + encode(req)
            sent = clock()
            try:
                socket.send(frame)
                reply = socket.recv()
            except zmq.Again:
                reply = None
            if reply is None or not reply.startswith(number):
                socket, reply = resend(config, socket, frame, number, reply, tally)
                if reply is None:
                    tally.give_up(no_reply(config))
                    break
            tally.record(n, clock() - sent, req, reply[len(number):] if number else reply)
        return tally.close(began, time.perf_counter())
    finally:
        socket.close()


def resend(config: RunConfig, socket: zmq.Socket, frame: bytes, number: bytes, reply: bytes | None,
           tally: Tally) -> tuple[zmq.Socket, bytes | None]:
    """The Lazy Pirate's way out of a missed or stray reply, off the hot path: a REQ socket that timed out
    can only be closed, so a new one sends the request again, up to `retries` times. Returns the socket in
    use and the reply, or None if none came."""
    for _ in range(config.retries):
        if reply is None:
            socket.close()
            socket = open_socket(config)
        else:
            tally.duplicate()  # a reply, not to this request: counted, and the request asked again
        tally.retry()
        try:
            socket.send(frame)
            reply = socket.recv()
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
    """Numbered requests through a DEALER socket, any number in flight; replies come back in any order.
    A DEALER adds no envelope of its own, so it sends the empty delimiter a REP responder expects."""

    def __init__(self, config: RunConfig, codec, requester_id: int) -> None:
        self.encode = codec.encode
        self.socket = shared_context().socket(zmq.DEALER)
        address = config.router_address or config.address
        try:
            self.socket.linger = 0
            self.socket.sndtimeo = int(config.timeout * 1000)
            if not config.router_address:  # the router speaks CURVE to the broker for everyone
                secure_client(self.socket, config)
            peer = Peer(f"zmq requester {requester_id}", peer_name(config), address, notice_level(requester_id))
            connect(self.socket, config, peer)
        except BaseException:
            self.socket.close()
            raise

    def send(self, n: int, request) -> None:
        self.socket.send(b"", zmq.SNDMORE)
        self.socket.send(request_id(n) + self.encode(request))

    def flush(self) -> None:
        pass  # every send is on its way already

    def receive(self, timeout: float) -> list:
        """Every reply that is there, once the first has come: one poll and one EAGAIN per batch."""
        socket, replies = self.socket, []
        if not socket.poll(math.ceil(timeout * 1000)):  # rounding down would spin
            return replies
        while True:
            try:
                socket.recv(zmq.NOBLOCK)  # the empty delimiter
            except zmq.Again:
                return replies
            number, body = split_id(socket.recv())
            replies.append((int.from_bytes(number[1:], "big") if number else -1, body))

    def close(self) -> None:
        self.socket.close()


def exchange(config: RunConfig, requests: list) -> list:
    """Send each value as a request, in order, and return the decoded replies: the parity tests' way of
    seeing exactly what comes back. A reply that does not come within the timeout raises TimeoutError."""
    codec = CODECS[config.codec]
    socket = open_socket(config)
    try:
        replies = []
        for value in requests:
            try:
                socket.send(codec.encode(value))
                replies.append(codec.decode(socket.recv()))
            except zmq.Again:
                raise TimeoutError(f"no reply within {config.timeout:g} s from {config.address}") from None
        return replies
    finally:
        socket.close()


def deliver(config: RunConfig, values: list) -> list[Delivery]:
    """Send each value to a mirror responder and say what came back, or where it failed. A value that fails
    does not stop the others; one that gets no reply within the timeout costs its socket, since a REQ socket
    must receive before it can send again (the lazy pirate's way out)."""
    codec = CODECS[config.codec]
    socket = None
    deliveries = []
    try:
        for value in values:
            try:
                frame = codec.encode(value)
            except Exception as error:  # RecursionError too
                deliveries.append(Delivery(stage=ENCODE_REQUEST, error=describe(error)))
                continue
            if socket is None:
                socket = open_socket(config)
            try:
                socket.send(frame, copy=False)
                answer = socket.recv()
            except zmq.Again:
                deliveries.append(Delivery(stage=NO_REPLY, error=f"no reply within {config.timeout:g} s"))
                socket.close()
                socket = None
                continue
            try:
                reply = codec.decode(answer)
            except Exception as error:
                deliveries.append(Delivery(stage=DECODE_REPLY, error=describe(error)))
                continue
            deliveries.append(delivery_of(reply))
        return deliveries
    finally:
        if socket is not None:
            socket.close()
