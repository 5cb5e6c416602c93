"""The request loop beyond lockstep, once for both transports and both styles of code (blocking, and
asyncio): up to `window` requests in flight (closed loop), or requests sent on a schedule whatever the
replies do (open loop, `rate` per second).

A transport hands in a `PipelineChannel` (shared/core/channel.py), blocking or asyncio: `send` one message,
`flush` what it may have buffered, and `receive` the reply messages that are there, waiting up to a timeout
for the first; and its `Framing`, which numbers each request and finds the number in each reply.
Everything else lives in `Schedule`: the schedule, the deadlines and resends, the matching of replies to
requests by number, their check, and the latency of each: from its first send in a closed loop, from its intended send
time in an open loop, so that a stall delays the clock of every request queued behind it instead of hiding
them (coordinated omission).
"""

from __future__ import annotations

import time
from array import array
from typing import Any

from shared.core.channel import PipelineChannel, awaits
from shared.core.config import RunConfig
from shared.core.latency import bucket
from shared.core.results import PROGRESS_EVERY, Tally, no_reply
from shared.core.wire import Framing

NS = 1_000_000_000
RING_START = 64  # slots of a requester's ring, at least (see Schedule)


def per_requester_rate(config: RunConfig) -> float:
    return config.rate / config.requesters if config.rate else 0.0


async def pipeline(channel: PipelineChannel, config: RunConfig, tally: Tally, framing: Framing) -> None:
    """Send `tally`'s planned requests through `channel` and check every reply."""
    schedule, asynchronous = Schedule(config, tally, framing), awaits(channel)
    send, flush, receive, due, arrived = channel.send, channel.flush, channel.receive, schedule.due, schedule.arrived
    while (step := due()) is not None:
        outgoing, wait = step
        for message in outgoing:
            await send(message) if asynchronous else send(message)
        await flush()
        arrived(await receive(wait))


class Schedule:
    """What a requester sends when, and what it makes of the replies: no I/O of its own.

    A request without a reply `config.timeout` seconds after its last send is sent again, up to
    `config.retries` times; after that the server is presumed down and the rest fail.

    What it keeps of each request in flight (when it was started and last sent, how often, whether it was
    answered, the encoding of its right reply) lives in a ring indexed by the request's number modulo a power
    of two, twice the window to start with: its memory follows the requests in flight, never the count. A
    request that waits long (a lost reply, waiting out its timeout) stretches the span between the oldest
    unanswered request and the newest; the ring doubles when the span reaches it, rather than hold back the
    window behind one lost reply.
    """

    def __init__(self, config: RunConfig, tally: Tally, framing: Framing) -> None:
        self.planned = tally.result.planned
        self.requester_id, self.make, self.tally = tally.requester_id, tally.workload.request, tally
        self.encode, self.handle, self.framing = tally.encode, tally.expected, framing
        self.window, self.retries, self.config = config.window, config.retries, config
        self.timed = config.record_latency
        self.timeout_ns = int(config.timeout * NS)
        rate = per_requester_rate(config)
        self.interval_ns = int(NS / rate) if rate else 0
        self.began = time.perf_counter_ns()
        self.sent = self.done = self.oldest = self.shown = 0
        self.resize(max(RING_START, 1 << (2 * self.window - 1).bit_length()))

    def resize(self, size: int) -> None:
        """A ring of `size` slots (a power of two), holding what the old one held for the requests in flight."""
        started, last_try, tries = array("q", bytes(8 * size)), array("q", bytes(8 * size)), bytearray(size)
        answered, expected = bytearray(size), [None] * size
        for n in range(self.oldest, self.sent):  # none when the first ring is made
            here, there = n & self.mask, n & (size - 1)
            started[there], last_try[there], tries[there] = self.started[here], self.last_try[here], self.tries[here]
            answered[there], expected[there] = self.answered[here], self.expected[here]
        self.started, self.last_try, self.tries, self.answered, self.expected = (started, last_try, tries, answered,
                                                                                   expected)
        self.mask = size - 1

    def message(self, n: int) -> Any:
        """Request n's message; the encoding of its right reply kept in its slot."""
        request, tag = self.make(self.requester_id, n), self.framing.tag(n)
        self.expected[n & self.mask] = self.framing.expect(tag, self.encode(self.handle(request)))
        return self.framing.join(tag, self.encode(request))

    def due(self) -> tuple[list[Any], float] | None:
        """The messages to send now, new requests and one sent again, and how many seconds to wait for
        replies after that; None once every request is answered, or the requester gave up."""
        if self.done >= self.planned:
            return None
        now = time.perf_counter_ns()
        oldest, sent, answered, mask = self.oldest, self.sent, self.answered, self.mask
        while oldest < sent and answered[oldest & mask]:
            oldest += 1
        self.oldest = oldest
        interval_ns = self.interval_ns
        if interval_ns:  # open loop: everything whose time has come, replies or not
            end = min(self.planned, (now - self.began) // interval_ns + 1)
        else:  # closed loop: keep the window full
            end = min(self.planned, self.done + self.window)
        if end - oldest > mask + 1:  # the span of requests in flight would overrun the ring
            self.resize(1 << (end - oldest - 1).bit_length())
        message, started, last_try, tries, answered, mask = (self.message, self.started, self.last_try, self.tries,
                                                             self.answered, self.mask)
        outgoing = []
        for n in range(sent, end):
            slot = n & mask
            started[slot] = self.began + n * interval_ns if interval_ns else now
            last_try[slot], tries[slot], answered[slot] = now, 1, 0
            outgoing.append(message(n))
        self.sent = sent = max(sent, end)
        if oldest < sent and now - last_try[oldest & mask] >= self.timeout_ns:
            if tries[oldest & mask] > self.retries:
                self.tally.give_up(no_reply(self.config))
                return None
            tries[oldest & mask] += 1  # sent again: the reply, or the first of two, will be taken
            self.tally.retry()
            last_try[oldest & mask] = now
            outgoing.append(message(oldest))
        wait_ns = self.timeout_ns if oldest >= sent else last_try[oldest & mask] + self.timeout_ns - now
        if interval_ns and sent < self.planned:
            wait_ns = min(wait_ns, self.began + sent * interval_ns - now)
        return outgoing, max(wait_ns, 0) / NS

    def arrived(self, replies: list[Any]) -> None:
        """Check the replies that came; a reply to no request in flight is counted as a duplicate."""
        if not replies:
            return
        arrived = time.perf_counter_ns()
        oldest, sent, mask, answered, expected, tally = (self.oldest, self.sent, self.mask, self.answered,
                                                         self.expected, self.tally)
        number, counts, timed = self.framing.number, tally.latency.counts, self.timed
        for reply in replies:
            n = number(reply)
            if not oldest <= n < sent or answered[n & mask]:
                tally.stray(self.done)
                continue
            answered[n & mask] = 1
            self.done += 1
            try:
                right = reply == expected[n & mask]  # the hot path is this one comparison, as in lockstep
            except ValueError:  # values whose == is no truth (NumPy arrays): check compares them
                right = False
            if not right:
                tally.check(n, self.make(self.requester_id, n), self.framing.body(reply), self.done - 1)
            if timed:
                counts[bucket(arrived - self.started[n & mask])] += 1
        tally.answered = self.done
        if self.done - self.shown > PROGRESS_EVERY or not self.shown:  # the bar's counter, once in 64 replies
            tally.progress[tally.slot] = self.shown = self.done
