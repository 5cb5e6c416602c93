"""Many requesters from one machine, as processes, threads and asyncio tasks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.bench.point import Point, Record
from shared.bench.reading import (
    NOT_RUN,
    find,
    listed,
    markdown_table,
    measured,
    memory_mib,
    p50_of,
    p99_of,
    rate,
    records_of,
)
from shared.bench.study import Measured, Study, Sweep


@dataclass(frozen=True)
class Many(Study):
    name = "many"
    steps: tuple[int, ...]  # requesters, fewest first

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for requesters in self.steps:
            for concurrency in sweep.modes:
                for path in self.paths(sweep):
                    yield sweep.point(path, concurrency, requesters=requesters)

    def cases(self, bench: Measured) -> Iterator[tuple[int, str, str, Record | None]]:
        """(requesters, path, concurrency, its record) for each point of the study."""
        records = records_of(bench, self)
        for n in self.steps:
            for concurrency in bench.sweep.modes:
                for path in self.paths(bench.sweep):
                    yield n, path.name, concurrency, find(records, path=path.name, concurrency=concurrency,
                                                          requesters=n)

    def summary(self, bench: Measured) -> dict:
        figures: dict[str, dict] = {}
        for n, path, concurrency, r in self.cases(bench):
            figures.setdefault(f"{path} {concurrency}", {})
            if r is not None and r.succeeded:
                figures[f"{path} {concurrency}"][str(n)] = {
                    "throughput_rps": round(r.median(rate), 1), "p50_us": r.latency("p50"),
                    "p99_us": r.latency("p99"), "memory_mib": round(r.median(memory_mib), 1),
                    "processes": len(r.first.roles), "wall_seconds": round(r.wall_seconds / len(r.results), 1)}
        return figures

    def section(self, bench: Measured) -> list[str]:
        records = records_of(bench, self)
        rows = [[f"{n:,}", path, concurrency, measured(record, rate),
                 measured(record, p50_of, p99_of, scale=1e-3, digits=1), measured(record, memory_mib),
                 self.per_requester(records, record), processes(record), round_seconds(record)]
                for n, path, concurrency, record in self.cases(bench)]
        sweep = bench.sweep
        return ["## Many requesters", "",
                f"Each transport with more and more requesters ({listed(f'{n:,}' for n in self.steps)}) in each "
                f"concurrency mode: {sweep.requests:,} requests in all, {sweep.responders} responders, each requester "
                "in lockstep. With that many requests in flight, latency is mostly queueing: p50 comes close to the "
                "requesters divided by the throughput (Little's law). Memory is the peak proportional set size (PSS) "
                "of the run's processes, summed: a page that forked processes share counts once. *Per added "
                "requester* is the memory this count takes beyond the fewest requesters, divided by the requesters "
                "added; the wall time includes starting every role.", "",
                *markdown_table(["requesters", "path", "concurrency", "requests/s", "p50 / p99 (ms)",
                                 "memory (MiB)", "per added requester (MiB)", "processes", "wall (s)"], rows)]

    def per_requester(self, records: list[Record], record: Record | None) -> str:
        fewest = self.steps[0]
        if record is None or not record.succeeded or record.point.requesters == fewest:
            return NOT_RUN
        base = find(records, path=record.point.path, concurrency=record.point.concurrency, requesters=fewest)
        if base is None or not base.succeeded:
            return NOT_RUN
        added = record.median(memory_mib) - base.median(memory_mib)
        return f"{added / (record.point.requesters - fewest):,.2f}"


def processes(record: Record | None) -> str:
    return f"{len(record.first.roles):,}" if record is not None and record.results else NOT_RUN


def round_seconds(record: Record | None) -> str:
    return f"{record.wall_seconds / len(record.results):,.1f}" if record is not None and record.results else NOT_RUN
