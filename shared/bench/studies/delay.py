"""Network delay: the roles as on separate hosts, a delaying relay (shared/core/relay.py) between them.
*loopback*: no relay; *requesters away*: `--delay`; *three hosts*: `--delay` and `--responder-delay`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.bench.point import Point, Record, run_options
from shared.bench.reading import find, listed, markdown_table, measured, p50_of, p99_of, rate, records_of
from shared.bench.study import Measured, Study, Sweep

# (placement, the run options of a one-way delay d: the relays it puts where)
PLACEMENTS = (("requesters away", lambda d: {"delay_ms": d}),
              ("three hosts", lambda d: {"delay_ms": d, "responder_delay_ms": d}))


@dataclass(frozen=True)
class Delay(Study):
    name = "delay"
    delays: tuple[float, ...]  # one way, ms

    def conditions(self) -> Iterator[tuple[str, float | None, dict]]:
        """(placement, one-way delay, run options), loopback first."""
        yield "loopback", None, {}
        for placement, relays in PLACEMENTS:
            for delay in self.delays:
                yield placement, delay, relays(delay)

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for _, _, relays in self.conditions():
            for path in self.paths(sweep):  # side by side: a noisy moment touches all alike
                yield sweep.point(path, **relays)

    def cases(self, bench: Measured) -> Iterator[tuple[str, float | None, str, Record | None]]:
        """(placement, one-way delay, path, its record) in the order they ran."""
        records = records_of(bench, self)
        for placement, delay, relays in self.conditions():
            for path in self.paths(bench.sweep):
                yield placement, delay, path.name, find(records, path=path.name, options=run_options(**relays))

    def summary(self, bench: Measured) -> dict:
        return {"rows": [{"placement": placement, "delay_ms": delay, "path": path,
                          "throughput_rps": round(record.median(rate), 1), "p50_us": record.latency("p50"),
                          "p99_us": record.latency("p99")}
                         for placement, delay, path, record in self.cases(bench) if record and record.succeeded]}

    def section(self, bench: Measured) -> list[str]:
        rows = [[placement, "none (no relay)" if delay is None else f"{delay:g} ms", path, measured(record, rate),
                 *(measured(record, read, scale=1e-3, digits=2) for read in (p50_of, p99_of))]
                for placement, delay, path, record in self.cases(bench)]
        sweep, server = bench.sweep, listed(bench.server_roles, "or")
        return ["## Network delay", "",
                f"Every role as on a separate host, with a relay standing for the network: it holds every chunk the "
                f"one-way delay in each direction ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                f"{sweep.responders} responders, every role a process, each requester in lockstep). *Requesters "
                f"away*: a relay between the requesters and the {server}; *three hosts*: one on both sides "
                "of it; *loopback*: no relay. A round trip (RTT) is twice the one-way delay: a request pays one RTT "
                "for each call across a relay that its path makes (two where a request is a `put`, then a `get`, "
                "see the paths' descriptions); what the delay does not explain is the relay's own cost (the 0 ms "
                "rows) and the work.", "",
                *markdown_table(["placement", "one-way delay", "path", "requests/s", "p50 (ms)", "p99 (ms)"], rows)]
