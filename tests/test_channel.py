"""The request loops written once (shared/core/channel.py): the same coroutine over a blocking channel, run by
`complete` without an event loop, and over an asyncio one, awaited on a loop, ends alike. No sockets: a
scripted channel misses a reply and hands back a stray one."""

from __future__ import annotations

import asyncio
from array import array
from collections import deque

import pytest

import zmq_impl
from shared.core.channel import complete
from shared.core.config import RunConfig
from shared.core.lockstep import drive, lockstep
from shared.core.pipeline import pipeline
from shared.core.results import Tally
from shared.core.workload import WORKLOADS
from zmq_impl.codec import ID_BYTES, framing, number_of, own_codec

CODEC = own_codec("msgpack")
ECHO = WORKLOADS["echo"]
REQUESTS = 20


def echoed(message: bytes) -> bytes:
    return message[:ID_BYTES] + CODEC.encode(ECHO.handle(CODEC.decode(message[ID_BYTES:])))


class Scripted:
    """A responder in a channel: the first try of request 1 goes unanswered (`misses`), and the first of request 2 is
    answered after a stray reply (request 0's answer again). `suspends`: every call yields to the loop."""

    missed = TimeoutError

    def __init__(self, suspends: bool, misses: bool = True) -> None:
        self.suspends, self.misses, self.sent, self.renewed, self.pending = suspends, misses, [], 0, deque()

    async def step(self) -> None:
        if self.suspends:
            await asyncio.sleep(0)

    async def send(self, message: bytes) -> None:
        await self.step()
        self.sent.append(message)
        n = number_of(message)
        first = sum(number_of(m) == n for m in self.sent) == 1
        if first and n == 1 and self.misses:
            return
        if first and n == 2:
            self.pending.append(echoed(self.sent[0]))
        self.pending.append(echoed(message))

    async def recv(self) -> bytes:
        await self.step()
        if not self.pending:
            raise TimeoutError
        return self.pending.popleft()

    async def renew(self) -> None:
        self.renewed += 1
        self.pending.clear()

    async def flush(self) -> None:
        await self.step()

    async def receive(self, timeout: float) -> list:
        await self.step()
        replies, self.pending = list(self.pending), deque()
        return replies


class Plain(Scripted):
    """Scripted as a blocking channel that says so (`asynchronous = False`): its send and recv, made once per
    message, are plain calls, which the loops call without awaiting."""

    asynchronous = False

    def send(self, message: bytes) -> None:
        complete(Scripted.send(self, message))

    def recv(self) -> bytes:
        return complete(Scripted.recv(self))


def run_over(channel: Scripted, loop: str) -> Tally:
    config = RunConfig(transport=zmq_impl.TRANSPORT, requests=REQUESTS, requesters=1, responders=1,
                       window=1 if loop == "lockstep" else 4)
    tally = Tally(0, REQUESTS, ECHO, CODEC, array("q", [0]))
    if loop == "lockstep":
        coroutine = drive(lockstep(config, tally, framing(CODEC)), channel)
    else:
        coroutine = pipeline(channel, config, tally, framing(CODEC))
    if channel.suspends:
        asyncio.run(coroutine)
    else:
        complete(coroutine)
    return tally


def test_lockstep_drives_a_blocking_and_an_asyncio_channel_alike():
    outcomes = []
    for channel in (Scripted(False), Scripted(True), Plain(False)):
        tally = run_over(channel, "lockstep")
        outcomes.append((tally.answered, tally.wrong, tally.result.retries, tally.result.duplicated, channel.renewed,
                         len(channel.sent)))
    # request 1 missed once (a retry, a renewed channel), request 2 sent again after a stray (a renewed channel)
    assert outcomes[0] == outcomes[1] == outcomes[2] == (REQUESTS, 0, 1, 1, 2, REQUESTS + 2)


def test_pipeline_drives_a_blocking_and_an_asyncio_channel_alike():
    outcomes = []
    for channel in (Scripted(False, misses=False), Scripted(True, misses=False), Plain(False, misses=False)):
        tally = run_over(channel, "pipeline")  # a miss would wait out the timeout
        outcomes.append((tally.answered, tally.wrong, tally.result.retries, tally.result.duplicated))
    assert outcomes[0] == outcomes[1] == outcomes[2] == (REQUESTS, 0, 0, 1)


def test_complete_refuses_a_loop_that_suspends():
    def one_request():
        yield b"x"

    with pytest.raises(RuntimeError, match="suspended"):
        complete(drive(one_request(), Scripted(suspends=True)))
