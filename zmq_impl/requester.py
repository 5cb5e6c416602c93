"""A requester: a REQ socket that sends its share of the workload in lockstep (shared/core/lockstep.py), or a
DEALER that keeps a window of requests in flight or sends them on a schedule (shared/core/pipeline.py); either
way every reply is checked.

The Lazy Pirate's part that is ZeroMQ's own: a REQ socket that missed a reply can only be closed, so the
request goes again on a new socket. Each request carries its number before its body (see codec.py), and a
reply must carry the same number back; the seed's raw format has no room for it, and there REQ alone pairs
each reply with its request.
"""

from __future__ import annotations

import math
import time

import zmq

from shared.core.config import START_DEADLINE, RunConfig
from shared.core.lockstep import Exchange, lockstep
from shared.core.peers import Peer, notice_level
from shared.core.pipeline import pipeline
from shared.core.results import RequesterResult, Tally, shows_exchanges
from shared.core.workload import DECODE_REPLY, ENCODE_REQUEST, NO_REPLY, Delivery, delivery_of, one_line, workload_for
from zmq_impl.codec import CODECS, framing, own_codec
from zmq_impl.connection import client_socket, connect, reach, sender
from zmq_impl.curve import CLIENT_KEY


def peer_of(config: RunConfig, requester_id: int) -> Peer:
    """Whom a requester talks to: the broker, a hello responder, or the local request router."""
    if config.settings.router_address:
        return Peer(config.role(f"requester {requester_id}"), config.role("request router"),
                    config.settings.router_address, notice_level(requester_id))
    name = "broker" if config.example == "router" else "responder"
    return Peer(config.role(f"requester {requester_id}"), config.role(name), config.address, notice_level(requester_id))


def requester_key(config: RunConfig) -> str | None:
    """A requester's CURVE key pair; none through the local request router, which speaks CURVE for it."""
    return None if config.settings.router_address else CLIENT_KEY


def open_socket(config: RunConfig, requester_id: int, kind: int = zmq.REQ, *, wait: bool = True) -> zmq.Socket:
    """A socket connected to the broker (or the local request router); with `wait`, returned once its peer
    has answered, waiting for it until the timeout as a native requester waits for its server."""
    peer = peer_of(config, requester_id)
    socket = client_socket(config, kind, key=requester_key(config))
    try:
        if wait:
            connect(config, peer, socket)
        else:
            reach(socket, peer.address)
    except BaseException:
        socket.close()
        raise
    return socket


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier): in lockstep on a REQ socket, as
    the seed does, or through a DEALER with a window of requests in flight or on a schedule."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    if config.lockstep:
        socket = open_socket(config, requester_id)
        try:
            start.wait(START_DEADLINE + config.timeout)  # the others may still be waiting for the broker
        except BaseException:
            socket.close()
            raise
        began = time.perf_counter()
        drive(lockstep(config, tally, framing(codec)), socket, config, requester_id)
    else:
        channel = DealerChannel(open_socket(config, requester_id, zmq.DEALER), config)
        try:
            start.wait(START_DEADLINE + config.timeout)
            began = time.perf_counter()
            pipeline(channel, config, tally, framing(codec))
        finally:
            channel.close()
    return tally.close(began, time.perf_counter())


def drive(exchange: Exchange, socket: zmq.Socket, config: RunConfig, requester_id: int) -> None:
    """Send what the lockstep loop yields and hand it each reply, until it ends; close it and the socket then."""
    try:
        message = next(exchange)
        send, recv = sender(socket, config), socket.recv
        while True:
            try:
                send(message)
                reply = recv()
            except zmq.Again:
                reply = None
                socket.close()  # a REQ socket that missed its reply can only be closed: the next try is on a new one
                socket = open_socket(config, requester_id, wait=False)
                send, recv = sender(socket, config), socket.recv
            try:
                following = exchange.send(reply)
            except StopIteration:
                return
            if following is message and reply is not None:  # sent again after a stray reply, on a new socket:
                socket.close()  # on this one, the answers to both sends would come, a stray for each next request
                socket = open_socket(config, requester_id, wait=False)
                send, recv = sender(socket, config), socket.recv
            message = following
    finally:
        exchange.close()
        socket.close()


class DealerChannel:
    """Numbered requests through a DEALER socket, any number in flight; replies come back in any order.
    A DEALER adds no envelope of its own, so it sends the empty delimiter a REP responder expects."""

    def __init__(self, socket: zmq.Socket, config: RunConfig) -> None:
        self.socket, self.send_frame = socket, sender(socket, config)

    def send(self, message: bytes) -> None:
        self.socket.send(b"", zmq.SNDMORE)
        self.send_frame(message)

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
            replies.append(socket.recv())

    def close(self) -> None:
        self.socket.close()


def deliver(config: RunConfig, values: list) -> list[Delivery]:
    """Send each value to a mirror responder and say what came back, or where it failed. A value that fails
    does not stop the others; one that gets no reply within the timeout costs its socket, since a REQ socket
    must receive before it can send again (the Lazy Pirate's way out)."""
    codec = CODECS[config.codec]
    socket = None
    deliveries = []
    try:
        for value in values:
            try:
                frame = codec.encode(value)
            except Exception as error:  # RecursionError too
                deliveries.append(Delivery(stage=ENCODE_REQUEST, error=one_line(error)))
                continue
            if socket is None:
                socket = open_socket(config, 0, wait=False)
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
                deliveries.append(Delivery(stage=DECODE_REPLY, error=one_line(error)))
                continue
            deliveries.append(delivery_of(reply))
        return deliveries
    finally:
        if socket is not None:
            socket.close()

