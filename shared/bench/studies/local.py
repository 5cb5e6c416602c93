"""What leaving TCP buys on one machine: each transport's path over loopback TCP and over its local sockets
(`--local`: socket files in a private folder, or in-process ones between threads), paired per round."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.bench.point import Point, Record
from shared.bench.reading import (
    RATIOS,
    find,
    markdown_table,
    measured,
    p50_of,
    paired,
    rate,
    ratio_text,
    records_of,
    target_line,
)
from shared.bench.studies.recording import cpu_us
from shared.bench.study import Measured, Study, Sweep
from shared.core.bench_paths import BenchPath

TARGET = 1.05  # local sockets give at least this many times loopback TCP's throughput


@dataclass(frozen=True)
class Local(Study):
    name = "local"

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):  # side by side: a noisy moment touches both alike
            yield sweep.point(path)
            yield sweep.point(path, local=True)

    def records(self, bench: Measured, path: BenchPath) -> tuple[Record | None, Record | None]:
        """The path's record over TCP and over local sockets."""
        records = records_of(bench, self)
        return (find(records, path=path.name), find(records, path=path.name, options=(("local", True),)))

    def summary(self, bench: Measured) -> dict:
        figures = {}
        for path in self.paths(bench.sweep):
            tcp, local = self.records(bench, path)
            throughput, latency = paired(local, tcp), paired(local, tcp, p50_of)
            figures[path.name] = {"throughput_local_over_tcp": throughput.to_json(),
                                  "p50_local_over_tcp": latency.to_json(),
                                  "cpu_local_over_tcp": paired(local, tcp, cpu_us).to_json(),
                                  "met": None if throughput.median is None else throughput.median >= TARGET}
        judged = [figure["met"] for figure in figures.values() if figure["met"] is not None]
        return {"target": TARGET, "met": all(judged) if judged else None, "paths": figures}

    def verdict(self, bench: Measured) -> str:
        paths = self.summary(bench)["paths"]
        judged = {name: (f"{figure['throughput_local_over_tcp']['median']:.3f}×", figure["met"])
                  for name, figure in paths.items() if figure["met"] is not None}
        not_judged = {name: "no round where both answered" for name, figure in paths.items() if figure["met"] is None}
        return target_line(f"local sockets give at least {TARGET:.2f}× loopback TCP's throughput", judged, not_judged)

    def section(self, bench: Measured) -> list[str]:
        rows = []
        for path in self.paths(bench.sweep):
            tcp, local = self.records(bench, path)
            rows.append([path.name, *(measured(r, rate) for r in (tcp, local)), ratio_text(paired(local, tcp), 3, "×"),
                         *(measured(r, p50_of, digits=1) for r in (tcp, local)),
                         ratio_text(paired(local, tcp, p50_of), 3, "×"),
                         *(measured(r, cpu_us, digits=1) for r in (tcp, local)),
                         ratio_text(paired(local, tcp, cpu_us), 3, "×")])
        sweep = bench.sweep
        return ["## Loopback TCP against local sockets", "",
                f"Each transport's own path ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                f"{sweep.responders} responders, every role a process) over loopback TCP and over its local sockets "
                "(`--local`: socket files in a private folder), one after the other in every round, in turn first. "
                + RATIOS, "",
                "CPU per request sums every process of the run, and is steadier than throughput on a shared "
                "machine.", "",
                *markdown_table(["path", "requests/s, tcp", "requests/s, local", "local / tcp", "p50 µs, tcp",
                                 "p50 µs, local", "p50 local / tcp", "CPU µs per request, tcp",
                                 "CPU µs per request, local", "CPU local / tcp"], rows),
                self.verdict(bench), ""]
