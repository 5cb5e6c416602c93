"""The Nagle stall: p50 latency as payloads cross 16 KiB; the target that no lockstep path stalls but those
known to (a path with a window or batches is not judged: its p50 is mostly time in a queue)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.point import Point, Record
from shared.bench.reading import NOT_RUN, find, listed, markdown_table, p50, p50_of, paired, ratio_text, target_line
from shared.bench.study import Measured, Study, Sweep
from shared.core.sizes import size_text
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.core.bench_paths import BenchPath

TARGET = 3.0  # p50 at the largest payload at most this many times p50 at the smallest
QUEUEING = "p50 of a windowed or batched path is time in the queue, not the service"


@dataclass(frozen=True)
class Stalls(Study):
    name = "stalls"
    group = "sweep"
    payloads: tuple[int, ...]  # the smallest against the largest, and any between

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for payload in self.payloads:
            for path in self.paths(sweep):
                yield sweep.point(path, "processes", payload)

    def ratios(self, bench: Measured) -> list[tuple[str, str, list[float | None], Interval]]:
        """(path, mode, p50 at each payload, p50 largest / smallest paired per round) for every path and mode
        that ran at both; a point that lost requests has no ratio."""
        rows = []
        for concurrency in bench.sweep.modes:
            for path in self.paths(bench.sweep):
                found = [sweep_record(bench, path, concurrency, payload) for payload in self.payloads]
                if found[0] is not None and found[-1] is not None:
                    both = found[0].succeeded and found[-1].succeeded
                    ratio = paired(found[-1], found[0] if both else None, p50_of)
                    rows.append((path.name, concurrency, [p50(record) for record in found], ratio))
        return rows

    def summary(self, bench: Measured) -> dict:
        judged, not_judged = self.judged(bench)
        figures = {where: {"ratio": round(value, 2), "met": value <= TARGET} for where, value in judged.items()}
        return {"target": TARGET, "met": all(f["met"] for f in figures.values()) if figures else None,
                "judged": figures, "not_judged": not_judged}

    def judged(self, bench: Measured) -> tuple[dict[str, float], dict[str, str]]:
        """The ratio of each path and mode the target judges, and why a path is not judged."""
        judged, not_judged = {}, {}
        for name, concurrency, _, ratio in self.ratios(bench):
            path = bench.sweep.path(name)
            if path.stalls_above:
                not_judged[name] = f"known to stall from {size_text(path.stalls_above)} on, Nagle's algorithm left on"
            elif path.window > 1 or path.batches:
                not_judged[name] = QUEUEING
            elif ratio.median is not None:
                judged[f"{name} {concurrency}"] = ratio.median
        return judged, not_judged

    def verdict(self, bench: Measured) -> str:
        """Whether every lockstep path that is not known to stall meets the target, in one sentence."""
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        claim = f"p50 at {high} at most {TARGET:g} × p50 at {low}"
        judged, not_judged = self.judged(bench)
        if not judged and not not_judged:
            return f"The target ({claim}) was not measured in this sweep."
        return target_line(claim, {where: (f"{value:.1f}×", value <= TARGET) for where, value in judged.items()},
                           not_judged)

    def section(self, bench: Measured) -> list[str]:
        rows = [[path, concurrency, *(f"{value:,.0f}" if value else NOT_RUN for value in values),
                 ratio_text(ratio, 1, "×")] for path, concurrency, values, ratio in self.ratios(bench)]
        if not rows:
            return []
        stalling = "".join(f" `{path.name}` does: {path.description}." for path in self.paths(bench.sweep)
                           if path.stalls_above)
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        return ["## Stalls around 16 KiB", "",
                f"p50 latency (µs) at {listed(size_text(p) for p in self.payloads)}. A connection with Nagle's "
                "algorithm on that writes a message in two sends makes the second wait for the ACK of the first, "
                f"which the receiver delays by up to 40 ms.{stalling}", "",
                *markdown_table(["path", "concurrency", *(f"p50, {size_text(p)}" for p in self.payloads),
                                 f"{high} / {low}"], rows), self.verdict(bench), ""]


def sweep_record(bench: Measured, path: BenchPath, concurrency: str, payload: int) -> Record | None:
    """The sweep's own point at a payload (its counts, the path's window), whichever study ran it."""
    return find(bench.records.values(), path=path.name, concurrency=concurrency, payload_bytes=payload,
                window=path.window, requesters=bench.sweep.requesters, responders=bench.sweep.responders)
