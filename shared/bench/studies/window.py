"""What keeping more requests in flight buys each path: window 1 (lockstep) against a wider window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.bench.point import Point
from shared.bench.reading import find, markdown_table, measured, p50_of, paired, rate, ratio_text, records_of
from shared.bench.study import Measured, Study, Sweep
from shared.core.sizes import size_text


@dataclass(frozen=True)
class Windows(Study):
    name = "window"
    group = "sweep"
    windows: tuple[int, ...]  # the first against the last

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for window in self.windows:
            for path in self.paths(sweep):
                yield sweep.point(path, "processes", sweep.reference_payload, window=window)

    def section(self, bench: Measured) -> list[str]:
        if len(self.windows) < 2:
            return []
        low, high = self.windows[0], self.windows[-1]
        records, rows = records_of(bench, self), []
        for path in self.paths(bench.sweep):
            a, b = (find(records, path=path.name, window=w) for w in (low, high))
            both = all(r is not None and r.succeeded for r in (a, b))
            rows.append([path.name, *(measured(r, rate) for r in (a, b)),
                         ratio_text(paired(b, a if both else None), 1, "×"), *(measured(r, p50_of) for r in (a, b))])
        return [f"## Window {low} against window {high}", "",
                f"What keeping {high} requests in flight per requester buys each path, at "
                f"{size_text(bench.sweep.reference_payload)} with every role a process: throughput grows as long as "
                f"the server has idle time to fill, and each request then waits behind the others in flight.", "",
                *markdown_table(["path", f"requests/s, window {low}", f"requests/s, window {high}", "gain",
                                 f"p50 µs, window {low}", f"p50 µs, window {high}"], rows)]
