"""A requester: a REQ socket that sends its share of the workload in lockstep and checks every reply."""

from __future__ import annotations

import time

import zmq

from shared.config import START_DEADLINE, RunConfig
from shared.results import RequesterResult, Tally
from shared.workload import (
    DECODE_REPLY,
    ENCODE_REQUEST,
    NO_REPLY,
    WORKLOADS,
    Delivery,
    delivery_of,
    describe,
)
from zmq_impl.codec import CODECS


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier), one request at a time.

    Each reply must equal the handler's answer to its request. A reply that does not come within the
    timeout fails the request, and the requester stops there: the server is presumed down.
    """
    workload = WORKLOADS[config.workload]
    codec = CODECS[config.codec]
    make, expected, encode, decode = workload.request, workload.expected, codec.encode, codec.decode
    planned = config.share(requester_id)
    tally = Tally(requester_id, planned)
    latencies = tally.latencies
    clock = time.perf_counter_ns
    socket = zmq.Context.instance().socket(zmq.REQ)
    try:
        socket.linger = 0
        socket.rcvtimeo = int(config.timeout * 1000)
        socket.connect(config.address)
        start.wait(START_DEADLINE)
        began = time.perf_counter()
        n = 0
        for n in range(planned):
            req = make(requester_id, n)
            sent = clock()
            socket.send(encode(req))
            try:
                frame = socket.recv()
            except zmq.Again:
                tally.give_up(planned - n, f"no reply within {config.timeout:g} s from {config.address}")
                break
            latencies[n] = clock() - sent
            try:
                reply = decode(frame)
            except Exception as error:
                tally.fail(f"request {n}: undecodable reply: {error}")
                continue
            if reply != expected(req):
                tally.fail(f"request {n}: expected {expected(req)!r}, got {reply!r}")
            progress[requester_id] = n + 1
        else:
            n = planned
        return tally.close(n, began, time.perf_counter())
    finally:
        socket.close()


def exchange(config: RunConfig, requests: list) -> list:
    """Send each value as a request, in order, and return the decoded replies: the parity tests' way of
    seeing exactly what comes back. A reply that does not come within the timeout raises TimeoutError."""
    codec = CODECS[config.codec]
    socket = zmq.Context.instance().socket(zmq.REQ)
    try:
        socket.linger = 0
        socket.rcvtimeo = int(config.timeout * 1000)
        socket.connect(config.address)
        replies = []
        for value in requests:
            socket.send(codec.encode(value))
            try:
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
    context = zmq.Context.instance()
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
                socket = context.socket(zmq.REQ)
                socket.linger = 0
                socket.connect(config.address)
            socket.send(frame, copy=False)
            if not socket.poll(int(config.timeout * 1000)):
                deliveries.append(Delivery(stage=NO_REPLY, error=f"no reply within {config.timeout:g} s"))
                socket.close()
                socket = None
                continue
            try:
                reply = codec.decode(socket.recv())
            except Exception as error:
                deliveries.append(Delivery(stage=DECODE_REPLY, error=describe(error)))
                continue
            deliveries.append(delivery_of(reply))
        return deliveries
    finally:
        if socket is not None:
            socket.close()
