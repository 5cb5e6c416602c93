"""A requester: a REQ socket that sends its share of the workload in lockstep (shared/core/lockstep.py), or a
DEALER with a window of requests in flight or a schedule (shared/core/pipeline.py); every reply is checked.

The Lazy Pirate's part that is ZeroMQ's own: a REQ socket that missed a reply can only be closed, so the
request goes again on a new socket. A reply carries its request's number (codec.py); raw frames have none.
"""

from __future__ import annotations

import math
import time

import zmq

from shared.core.channel import complete
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.lockstep import drive, lockstep
from shared.core.peers import Peer, notice_level
from shared.core.pipeline import pipeline
from shared.core.results import RequesterResult, Tally, shows_exchanges
from shared.core.workload import DECODE_REPLY, ENCODE_REQUEST, NO_REPLY, Delivery, delivery_of, one_line, workload_for
from zmq_impl.blocking import BLOCKING, Form
from zmq_impl.codec import CODECS, framing, own_codec
from zmq_impl.connection import client_socket, connect, reach
from zmq_impl.curve import CLIENT_KEY


def peer_of(config: RunConfig, requester_id: int) -> Peer:
    """Whom a requester talks to: the broker, a hello responder, or the local request router."""
    if config.settings.router_address:
        return Peer(config.role(f"requester {requester_id}"), config.role("request router"),
                    config.settings.router_address, notice_level(requester_id))
    name = config.server_role if config.one_hop or config.example == "router" else "responder"
    return Peer(config.role(f"requester {requester_id}"), config.role(name), config.address, notice_level(requester_id))


async def opened(config: RunConfig, requester_id: int, form: Form, kind: int = zmq.REQ,
                 wait: bool = True) -> zmq.Socket:
    """A socket of the requester's form connected to the broker (or the local request router); with `wait`,
    once its peer has answered, waited for until the timeout as a native requester waits for its server."""
    key = None if config.settings.router_address else CLIENT_KEY  # a local request router speaks CURVE for it
    peer = peer_of(config, requester_id)
    socket = client_socket(config, kind, asynchronous=form.asynchronous, key=key)
    try:
        if wait:
            await connect(config, peer, socket, form)
        else:
            reach(socket, peer.address)
    except BaseException:
        socket.close()
        raise
    return socket


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier), in lockstep (REQ) or not (DEALER)."""
    return complete(requesting(config, requester_id, start, progress, BLOCKING))


async def requesting(config: RunConfig, requester_id: int, start, progress, form: Form) -> RequesterResult:
    """`request` in any form: the blocking one, or an asyncio task's (tasks.request)."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    kind = zmq.REQ if config.lockstep else zmq.DEALER
    socket = await opened(config, requester_id, form, kind)
    channel = (ReqChannel if config.lockstep else DealerChannel)(socket, config, requester_id, form)
    try:
        await form.wait(start, START_DEADLINE + config.timeout)  # the others may still wait for the broker
        began = time.perf_counter()
        if config.lockstep:
            await drive(lockstep(config, tally, framing(codec)), channel)
        else:
            await pipeline(channel, config, tally, framing(codec))
    finally:
        channel.close()
    return tally.close(began, time.perf_counter())


class ReqChannel:
    """One request at a time on a REQ socket. One that missed its reply, or got a stray, can only be closed
    (sent again, it would get a stray for each next request): `renew` goes on with a new socket."""

    missed = zmq.Again

    def __init__(self, socket: zmq.Socket, config: RunConfig, requester_id: int, form: Form) -> None:
        self.config, self.requester_id, self.form = config, requester_id, form
        self.asynchronous = form.asynchronous  # whether send and recv are awaited
        self.use(socket)

    def use(self, socket: zmq.Socket) -> None:
        self.socket, self.recv = socket, self.form.receiver(socket)
        self.send = self.form.sender(socket, self.config)

    async def renew(self) -> None:
        self.socket.close()
        self.use(await opened(self.config, self.requester_id, self.form, wait=False))

    def close(self) -> None:
        self.socket.close()


class DealerChannel:
    """Numbered requests through a DEALER socket, any number in flight; replies come back in any order."""

    def __init__(self, socket: zmq.Socket, config: RunConfig, requester_id: int, form: Form) -> None:
        self.socket, self.poll, self.asynchronous = socket, form.poller(socket), form.asynchronous
        self.send, self.take = form.delimited_sender(socket, config), form.delimited_receiver(socket)

    async def flush(self) -> None:
        pass  # every send is on its way already

    async def receive(self, timeout: float) -> list:
        """Every reply that is there, once the first has come: one poll and one EAGAIN per batch."""
        replies = []
        if await self.poll(math.ceil(timeout * 1000)):  # rounding down would spin
            take, asynchronous = self.take, self.asynchronous
            try:
                while True:
                    replies.append(await take() if asynchronous else take())
            except zmq.Again:
                pass
        return replies

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
                socket = complete(opened(config, 0, BLOCKING, wait=False))
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

