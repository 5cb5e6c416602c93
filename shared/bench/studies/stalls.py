"""The Nagle stall: p50 latency as payloads cross 16 KiB, where a connection that writes a message in two sends
makes the second wait for a delayed ACK; and the target that no path but those known to stall does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.study import NOT_RUN, Point, Study, find, listed, markdown_table, p50, ratio
from shared.core.sizes import size_text

if TYPE_CHECKING:
    from shared.bench.engine import Bench, Record
    from shared.bench.sweep import Sweep
    from shared.core.transport import BenchPath

TARGET = 3.0  # p50 at the largest payload at most this many times p50 at the smallest


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
        found = self.measured(bench)
        return {"target": TARGET, "met": all(value <= TARGET for _, value in found) if found else None,
                "ratios": {where: round(value, 2) for where, value in found}}

    def measured(self, bench: Bench) -> list[tuple[str, float]]:
        return [(f"{path} {c}", v[-1] / v[0]) for path, c, v in self.ratios(bench)
                if not bench.sweep.path(path).stalls_above and v[0] and v[-1]]

    def verdict(self, bench: Bench) -> str:
        """Whether every path that is not known to stall meets the target, in one sentence."""
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        found = self.measured(bench)
        if not found:
            return f"The target (p50 at {high} at most {TARGET:g} × p50 at {low}) was not measured in this sweep."
        met = all(value <= TARGET for _, value in found)
        shown = ", ".join(f"{where} {value:.1f}×" for where, value in found)
        return (f"Target, p50 at {high} at most {TARGET:g} × p50 at {low} on every path but those that stall: "
                f"{'met' if met else 'not met'} ({shown}).")

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
