"""What leaving TCP buys on one machine: each transport's path over loopback TCP and over its local sockets
(`--local`: socket files in a private folder), paired per round."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.bench.point import Point, Record, run_options
from shared.bench.reading import RATIOS, measured, p50_of, paired, rate, ratio_text, target_line
from shared.bench.studies.conditions import cpu_us
from shared.bench.study import Measured, Section, Study, Sweep, Table

TARGET = 1.05  # local sockets give at least this many times loopback TCP's throughput


@dataclass(frozen=True)
class Local(Study):
    """Each transport's own path over loopback TCP and over its local sockets, one after the other."""

    name = "local"

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):  # side by side: a noisy moment touches both alike
            yield sweep.point(path)
            yield sweep.point(path, local=True)

    def cases(self, bench: Measured) -> Iterator[tuple[str, Record | None, Record | None]]:
        """Per path: its record over TCP and over local sockets."""
        for path in self.paths(bench.sweep):
            yield (path.name, self.find(bench, path=path.name),
                   self.find(bench, path=path.name, options=run_options(local=True)))

    def summary(self, bench: Measured) -> dict:
        figures = {}
        for path, tcp, local in self.cases(bench):
            throughput = paired(local, tcp)
            figures[path] = {"throughput_local_over_tcp": throughput.to_json(),
                             "p50_local_over_tcp": paired(local, tcp, p50_of).to_json(),
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

    def sections(self, bench: Measured) -> list[Section]:
        rows = [[path, *(measured(r, rate) for r in (tcp, local)), ratio_text(paired(local, tcp), 3, "×"),
                 *(measured(r, p50_of, digits=1) for r in (tcp, local)), ratio_text(paired(local, tcp, p50_of), 3, "×"),
                 *(measured(r, cpu_us, digits=1) for r in (tcp, local)), ratio_text(paired(local, tcp, cpu_us), 3, "×")]
                for path, tcp, local in self.cases(bench)]
        sweep = bench.sweep
        return [Section("Loopback TCP against local sockets",
                        f"Each transport's own path ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                        f"{sweep.responders} responders, every role a process) over loopback TCP and over its local "
                        "sockets (`--local`: socket files in a private folder), one after the other in every round, "
                        "in turn first. CPU per request sums every process of the run, and is steadier than "
                        f"throughput on a shared machine. {RATIOS}",
                        [Table(["path", "requests/s, tcp", "requests/s, local", "local / tcp", "p50 µs, tcp",
                                "p50 µs, local", "p50 local / tcp", "CPU µs per request, tcp",
                                "CPU µs per request, local", "CPU local / tcp"], rows)], [self.verdict(bench)])]
