"""The Nagle stall: p50 latency as payloads cross 16 KiB, where a connection that writes a message in two sends
makes the second wait for a delayed ACK; and the target that no lockstep path but those known to stall does
(the p50 of a path with a window or batches is mostly time in a queue, so the target does not judge it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.study import NOT_RUN, Point, Study, find, listed, markdown_table, p50, ratio, target_line
from shared.core.sizes import size_text

if TYPE_CHECKING:
    from shared.bench.engine import Bench, Record
    from shared.bench.sweep import Sweep
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

    def ratios(self, bench: Bench) -> list[tuple[str, str, list[float | None]]]:
        """(path, concurrency, p50 at each payload) for every path and mode that ran at the smallest and the
        largest: processes here, threads and asyncio where the payload study ran them."""
        rows = []
        for concurrency in bench.sweep.modes:
            for path in self.paths(bench.sweep):
                found = [sweep_record(bench, path, concurrency, payload) for payload in self.payloads]
                if found[0] is not None and found[-1] is not None:
                    rows.append((path.name, concurrency, [p50(record) for record in found]))
        return rows

    def summary(self, bench: Bench) -> dict:
        judged, not_judged = self.judged(bench)
        figures = {where: {"ratio": round(value, 2), "met": value <= TARGET} for where, value in judged.items()}
        return {"target": TARGET, "met": all(f["met"] for f in figures.values()) if figures else None,
                "judged": figures, "not_judged": not_judged}

    def judged(self, bench: Bench) -> tuple[dict[str, float], dict[str, str]]:
        """The ratio of each path and mode the target judges, and why it judges none of a path's: a path known to
        stall, or one whose p50 is mostly time in a queue (a window over 1, or batches)."""
        judged, not_judged = {}, {}
        for name, concurrency, values in self.ratios(bench):
            path = bench.sweep.path(name)
            if path.stalls_above:
                not_judged[name] = f"known to stall from {size_text(path.stalls_above)} on, Nagle's algorithm left on"
            elif path.window > 1 or path.batches:
                not_judged[name] = QUEUEING
            elif values[0] and values[-1]:
                judged[f"{name} {concurrency}"] = values[-1] / values[0]
        return judged, not_judged

    def verdict(self, bench: Bench) -> str:
        """Whether every lockstep path that is not known to stall meets the target, in one sentence."""
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        claim = f"p50 at {high} at most {TARGET:g} × p50 at {low}"
        judged, not_judged = self.judged(bench)
        if not judged and not not_judged:
            return f"The target ({claim}) was not measured in this sweep."
        return target_line(claim, {where: (f"{value:.1f}×", value <= TARGET) for where, value in judged.items()},
                           not_judged)

    def section(self, bench: Bench) -> list[str]:
        rows = [[path, concurrency, *(f"{value:,.0f}" if value else NOT_RUN for value in values),
                 ratio(values[-1], values[0])] for path, concurrency, values in self.ratios(bench)]
        if not rows:
            return []
        stalling = [f"`{path.name}`" for path in self.paths(bench.sweep) if path.stalls_above]
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        return ["## Stalls around 16 KiB", "",
                f"p50 latency (µs) at {listed(size_text(p) for p in self.payloads)}. A connection with Nagle's "
                "algorithm on that writes a message in two sends makes the second wait for the ACK of the first, "
                "which the receiver delays by up to 40 ms"
                + (f": {', '.join(stalling)} does, the stock manager connections writing a message larger than "
                   "16 KiB in two sends" if stalling else "") + ".", "",
                *markdown_table(["path", "concurrency", *(f"p50, {size_text(p)}" for p in self.payloads),
                                 f"{high} / {low}"], rows), self.verdict(bench), ""]


def sweep_record(bench: Bench, path: BenchPath, concurrency: str, payload: int) -> Record | None:
    """The sweep's own point at a payload (its counts, the path's window), whichever study ran it."""
    return find(bench.records.values(), path=path.name, concurrency=concurrency, payload_bytes=payload,
                window=path.window, requesters=bench.sweep.requesters, responders=bench.sweep.responders)
