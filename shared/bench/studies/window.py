"""What keeping more requests in flight buys each path: window 1 (lockstep) against a wider window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.study import Point, Study, find, markdown_table, measured, p50_of, rate, ratio, records_of
from shared.core.sizes import size_text

if TYPE_CHECKING:
    from shared.bench.engine import Bench
    from shared.bench.sweep import Sweep


@dataclass(frozen=True)
class Windows(Study):
    name = "window"
    group = "sweep"
    windows: tuple[int, ...]  # the first against the last

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for window in self.windows:
            for path in self.paths(sweep):
                yield sweep.point(path, "processes", sweep.reference_payload, window=window)

    def section(self, bench: Bench) -> list[str]:
        if len(self.windows) < 2:
            return []
        low, high = self.windows[0], self.windows[-1]
        records, rows = records_of(bench, self), []
        for path in self.paths(bench.sweep):
            a, b = (find(records, path=path.name, window=w) for w in (low, high))
            rows.append([path.name, *(measured(r, rate) for r in (a, b)),
                         ratio(*(r.median(rate) if r is not None and r.succeeded else None for r in (b, a))),
                         *(measured(r, p50_of) for r in (a, b))])
        return [f"## Window {low} against window {high}", "",
                f"What keeping {high} requests in flight per requester buys each path, at "
                f"{size_text(bench.sweep.reference_payload)} with every role a process: throughput grows as long as "
                f"the server has idle time to fill, and each request then waits behind the others in flight.", "",
                *markdown_table(["path", f"requests/s, window {low}", f"requests/s, window {high}", "gain",
                                 f"p50 µs, window {low}", f"p50 µs, window {high}"], rows)]
