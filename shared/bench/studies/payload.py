"""Throughput and latency against payload size, per path and concurrency mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from shared.bench import plots as bench_plots
from shared.bench.point import Point
from shared.bench.reading import find, listed, markdown_table, measured, p50_of, p99_of, rate, records_of
from shared.bench.study import Measured, Study, Sweep
from shared.core.sizes import size_text


@dataclass(frozen=True)
class Payloads(Study):
    name = "payload"
    group = "sweep"
    payloads: tuple[int, ...]
    threads_payloads: tuple[int, ...]  # the payloads also run with every role a thread, and as asyncio tasks

    def modes(self, sweep: Sweep, payload: int) -> list[str]:
        return [c for c in sweep.modes if c == "processes" or payload in self.threads_payloads]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for payload in self.payloads:
            for concurrency in self.modes(sweep, payload):
                for path in self.paths(sweep):
                    yield sweep.point(path, concurrency, payload)

    def section(self, bench: Measured) -> list[str]:
        sweep, names = bench.sweep, [path.name for path in self.paths(bench.sweep)]
        counts = [[size_text(payload), *(f"{sweep.requests_for(path, payload, sweep.requesters):,}"
                                         for path in self.paths(sweep))] for payload in self.payloads]
        wide = listed(f"`{path.name}` keeps {path.window}" for path in self.paths(sweep) if path.window > 1)
        lines = ["## Throughput against payload size", "",
                 "Requests per second each path sustains at each payload size (higher is better)"
                 + (f"; {wide} requests in flight per requester, the others one" if wide else "") + ". Requests "
                 "per point fall as payloads grow, so that each point takes about as long; with fewer than 100 "
                 "requests, p99 is close to the slowest request, and p99.9 needs more than 1,000:", "",
                 *markdown_table(["payload", *names], counts)]
        lines += self.per_concurrency(bench, "**{}**, requests/s", lambda cell: measured(cell, rate))
        lines += ["## Latency against payload size", "",
                  "The median and the 99th percentile of each request's round trip, in µs (lower is better): p50 is "
                  "the typical request, p99 the slow one in a hundred.", ""]
        lines += self.per_concurrency(bench, "**{}**, p50 / p99 (µs)", lambda cell: measured(cell, p50_of, p99_of))
        return lines

    def per_concurrency(self, bench: Measured, heading: str, show) -> list[str]:
        """One table of payload against path for each concurrency mode that the sweep measured."""
        records, names, lines = records_of(bench, self), [p.name for p in self.paths(bench.sweep)], []
        for concurrency in bench.sweep.modes:
            payloads = [p for p in self.payloads if concurrency in self.modes(bench.sweep, p)]
            if payloads:
                lines += [heading.format(concurrency), ""]
                lines += markdown_table(["payload", *names], [
                    [size_text(p), *(show(find(records, path=path, concurrency=concurrency, payload_bytes=p))
                                     for path in names)] for p in payloads])
        return lines

    def figures(self):
        return {"throughput.png": ("Throughput against payload size, per path (log-log); processes solid, threads "
                                   "dashed, asyncio dotted.", partial(bench_plots.throughput, self)),
                "latency.png": ("Latency percentiles against payload size, per path (processes, log-log).",
                                partial(bench_plots.latency, self))}
