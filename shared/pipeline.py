"""The request loop beyond lockstep, once for both transports and both styles of code (blocking, and
asyncio): up to `window` requests in flight (closed loop), or requests sent on a schedule whatever the
replies do (open loop, `rate` per second).

A transport hands in a `Channel`: `send` one message, `flush` what it may have buffered, and `receive` the
reply messages that are there, waiting up to a timeout for the first (an `AsyncChannel` has the same
methods, awaitable), and its `Framing`, which numbers each request and finds the number in each reply.
Everything else lives in `Schedule`: the schedule, the deadlines and resends, the matching of replies to
requests by number, and the latency of each: from its first send in a closed loop, from its intended send
time in an open loop, so that a stall delays the clock of every request queued behind it instead of hiding
them (coordinated omission).
"""

from __future__ import annotations

import time
from array import array
from typing import Any, Protocol

from shared.config import RunConfig
from shared.results import Tally, no_reply
from shared.transport import Framing

NS = 1_000_000_000


class Stopped(Exception):
    """The run is being stopped: the channel was handed its end."""


class Channel(Protocol):
    def send(self, message: Any) -> None: ...

    def flush(self) -> None: ...

    def receive(self, timeout: float) -> list[Any]: ...


class AsyncChannel(Protocol):
    async def send(self, message: Any) -> None: ...

    async def flush(self) -> None: ...

    async def receive(self, timeout: float) -> list[Any]: ...


def per_requester_rate(config: RunConfig) -> float:
    return config.rate / config.requesters if config.rate else 0.0


def pipeline(channel: Channel, config: RunConfig, tally: Tally, framing: Framing) -> None:
    """Send `tally`'s planned requests through `channel` and check every reply."""
    schedule = Schedule(config, tally, framing)
    send, flush, receive, due, arrived = channel.send, channel.flush, channel.receive, schedule.due, schedule.arrived
    while (step := due()) is not None:
        outgoing, wait = step
        for message in outgoing:
            send(message)
        flush()
        arrived(receive(wait))


async def pipeline_async(channel: AsyncChannel, config: RunConfig, tally: Tally, framing: Framing) -> None:
    """`pipeline` for a requester that is an asyncio task."""
    schedule = Schedule(config, tally, framing)
    while (step := schedule.due()) is not None:
        outgoing, wait = step
        for message in outgoing:
            await channel.send(message)
        await channel.flush()
        schedule.arrived(await channel.receive(wait))


class Schedule:
    """What a requester sends when, and what it makes of the replies: no I/O of its own.

    A request without a reply `config.timeout` seconds after its last send is sent again, up to
    `config.retries` times; after that the server is presumed down and the rest fail.
    """

    def __init__(self, config: RunConfig, tally: Tally, framing: Framing) -> None:
        self.planned = planned = tally.result.planned
        self.requester_id, self.make, self.tally = tally.requester_id, tally.workload.request, tally
        self.encode, self.framing = tally.codec.encode, framing
        self.window, self.retries, self.config = config.window, config.retries, config
        self.started = array("q", bytes(8 * planned))  # first send, or intended send time
        self.last_try = array("q", bytes(8 * planned))
        self.tries = bytearray(planned)
        self.answered = bytearray(planned)
        self.timeout_ns = int(config.timeout * NS)
        rate = per_requester_rate(config)
        self.interval_ns = int(NS / rate) if rate else 0
        self.began = time.perf_counter_ns()
        self.sent = self.done = self.oldest = 0

    def message(self, n: int) -> Any:
        return self.framing.join(self.framing.tag(n), self.encode(self.make(self.requester_id, n)))

    def due(self) -> tuple[list[Any], float] | None:
        """The messages to send now, new requests and one sent again, and how many seconds to wait for
        replies after that; None once every request is answered, or the requester gave up."""
        if self.done >= self.planned:
            return None
        now = time.perf_counter_ns()
        sent, planned, started, interval_ns = self.sent, self.planned, self.started, self.interval_ns
        burst = sent
        if interval_ns:  # open loop: everything whose time has come, replies or not
            while sent < planned and self.began + sent * interval_ns <= now:
                started[sent] = self.began + sent * interval_ns
                sent += 1
        else:  # closed loop: keep the window full
            while sent < planned and sent - self.done < self.window:
                started[sent] = now
                sent += 1
        self.sent = sent
        message, last_try, tries = self.message, self.last_try, self.tries
        outgoing = []
        for n in range(burst, sent):
            last_try[n] = now
            tries[n] = 1
            outgoing.append(message(n))
        oldest, answered = self.oldest, self.answered
        while oldest < sent and answered[oldest]:
            oldest += 1
        self.oldest = oldest
        if oldest < sent and now - last_try[oldest] >= self.timeout_ns:
            if tries[oldest] > self.retries:
                self.tally.give_up(no_reply(self.config))
                return None
            tries[oldest] += 1  # sent again: the reply, or the first of two, will be taken
            self.tally.retry()
            last_try[oldest] = now
            outgoing.append(message(oldest))
        wait_ns = self.timeout_ns if oldest >= sent else last_try[oldest] + self.timeout_ns - now
        if interval_ns and sent < planned:
            wait_ns = min(wait_ns, self.began + sent * interval_ns - now)
        return outgoing, max(wait_ns, 0) / NS

    def arrived(self, replies: list[Any]) -> None:
        """Check the replies that came; a reply to no request in flight is counted as a duplicate."""
        if not replies:
            return
        arrived = time.perf_counter_ns()
        sent, answered, started, tally = self.sent, self.answered, self.started, self.tally
        make, requester_id, number, body = self.make, self.requester_id, self.framing.number, self.framing.body
        for reply in replies:
            n = number(reply)
            if not 0 <= n < sent or answered[n]:
                tally.duplicate()
                continue
            answered[n] = 1
            self.done += 1
            tally.record(n, arrived - started[n], make(requester_id, n), body(reply))
