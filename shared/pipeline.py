"""The request loop beyond lockstep, once for both transports: up to `window` requests in flight (closed
loop), or requests sent on a schedule whatever the replies do (open loop, `rate` per second).

A transport hands in a `Channel`: `send` one numbered request, `flush` what it may have buffered, and
`receive` the (number, payload) replies that are there, waiting up to a timeout for the first.
Everything else lives here: the schedule, the deadlines and resends, the matching of replies to
requests by number, and the latency of each: from its first send in a closed loop, from its intended
send time in an open loop, so that a stall delays the clock of every request queued behind it instead
of hiding them (coordinated omission).
"""

from __future__ import annotations

import time
from array import array
from typing import Any, Protocol

from shared.config import RunConfig
from shared.results import Tally, no_reply
from shared.workload import Workload

NS = 1_000_000_000


class Stopped(Exception):
    """The run is being stopped: the channel was handed its end."""


class Channel(Protocol):
    def send(self, n: int, request: Any) -> None: ...

    def flush(self) -> None: ...

    def receive(self, timeout: float) -> list[tuple[int, Any]]: ...


def per_requester_rate(config: RunConfig) -> float:
    return config.rate / config.requesters if config.rate else 0.0


def pipeline(channel: Channel, config: RunConfig, requester_id: int, workload: Workload, tally: Tally) -> None:
    """Send `tally`'s planned requests through `channel` and check every reply.

    A request without a reply `config.timeout` seconds after its last send is sent again, up to
    `config.retries` times; after that the server is presumed down and the rest fail.
    """
    planned, make, window = tally.result.planned, workload.request, config.window
    started = array("q", bytes(8 * planned))  # first send, or intended send time
    last_try = array("q", bytes(8 * planned))
    tries = bytearray(planned)
    answered = bytearray(planned)
    timeout_ns = int(config.timeout * NS)
    rate = per_requester_rate(config)
    interval_ns = int(NS / rate) if rate else 0
    began = time.perf_counter_ns()
    sent = done = oldest = 0
    while done < planned:
        now = time.perf_counter_ns()
        burst = sent
        if interval_ns:  # open loop: everything whose time has come, replies or not
            while sent < planned and began + sent * interval_ns <= now:
                started[sent] = began + sent * interval_ns
                sent += 1
        else:  # closed loop: keep the window full
            while sent < planned and sent - done < window:
                started[sent] = now
                sent += 1
        for n in range(burst, sent):
            last_try[n] = now
            tries[n] = 1
            channel.send(n, make(requester_id, n))
        while oldest < sent and answered[oldest]:
            oldest += 1
        if oldest < sent and now - last_try[oldest] >= timeout_ns:
            if tries[oldest] > config.retries:
                tally.give_up(no_reply(config))
                return
            tries[oldest] += 1  # sent again: the reply, or the first of two, will be taken
            tally.retry()
            last_try[oldest] = now
            channel.send(oldest, make(requester_id, oldest))
        channel.flush()
        wait_ns = timeout_ns if oldest >= sent else last_try[oldest] + timeout_ns - now
        if interval_ns and sent < planned:
            wait_ns = min(wait_ns, began + sent * interval_ns - now)
        replies = channel.receive(max(wait_ns, 0) / NS)
        if not replies:
            continue
        arrived = time.perf_counter_ns()
        for n, payload in replies:
            if not 0 <= n < sent or answered[n]:
                tally.duplicate()
                continue
            answered[n] = 1
            done += 1
            tally.record(n, arrived - started[n], make(requester_id, n), payload)
