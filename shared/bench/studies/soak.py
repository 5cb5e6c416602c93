"""A long run per transport, its processes' PSS sampled every second: does memory grow from the first tenth of
the run to the last?"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from shared.bench import plots as bench_plots
from shared.bench.point import Point
from shared.bench.reading import NOT_RUN, find, markdown_table, measured, rate, records_of, target_line
from shared.bench.study import Measured, Study, Sweep

if TYPE_CHECKING:
    from shared.core.results import RunResult

TARGET = 0.10  # memory may grow by less than this share from a run's first tenth to its last
TENTH = 0.1


def growth(timeline: list) -> dict | None:
    """The largest sample of the first tenth and of the last (the very last may miss exited requesters), and
    the growth between them; None without samples."""
    if not timeline:
        return None
    last = timeline[-1][0]
    head = [mib for seconds, mib in timeline if seconds <= last * TENTH] or [timeline[0][1]]
    tail = [mib for seconds, mib in timeline if seconds >= last * (1 - TENTH)] or [timeline[-1][1]]
    first, end = max(head), max(tail)
    return {"samples": len(timeline), "first_tenth_mib": first, "last_tenth_mib": end,
            "peak_mib": max(mib for _, mib in timeline), "growth": round((end - first) / first, 4),
            "met": (end - first) / first < TARGET}


@dataclass(frozen=True)
class Soak(Study):
    name = "soak"

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):
            yield sweep.point(path)

    def timelines(self, bench: Measured) -> dict[str, RunResult]:
        """Per path, its first round that answered every request."""
        found = {}
        for record in records_of(bench, self):
            good = [result for _, result in sorted(record.results.items()) if result.succeeded]
            if good:
                found[record.point.path] = good[0]
        return found

    def summary(self, bench: Measured) -> dict:
        figures = {path: growth(result.pss_timeline) for path, result in self.timelines(bench).items()}
        growths = [figure["growth"] for figure in figures.values() if figure]
        return {"target": TARGET, "met": all(g < TARGET for g in growths) if growths else None, "paths": figures}

    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if summary["met"] is None:
            return "Soak: not measured (no run answered every request)."
        judged = {path: (f"{figure['growth']:+.1%}", figure["met"]) for path, figure in summary["paths"].items()
                  if figure}
        return target_line(f"memory grows by less than {TARGET:.0%} from the first tenth of the soak to the last",
                           judged, {})

    def section(self, bench: Measured) -> list[str]:
        records, summary, rows = records_of(bench, self), self.summary(bench)["paths"], []
        for path in self.paths(bench.sweep):
            record, figure = find(records, path=path.name), summary.get(path.name)
            cells = [f"{figure[k]:,.1f}" for k in ("first_tenth_mib", "last_tenth_mib", "peak_mib")] if figure else []
            rows.append([path.name, measured(record, lambda r: r.ok), measured(record, lambda r: r.seconds, digits=1),
                         measured(record, rate), str(figure["samples"]) if figure else NOT_RUN,
                         *(cells or [NOT_RUN] * 3), f"{figure['growth']:+.1%}" if figure else NOT_RUN])
        sweep = bench.sweep
        return ["## Soak: memory over a long run", "",
                f"One long run per transport ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                f"{sweep.responders} responders, every role a process), the proportional set size (PSS) of all its "
                "processes summed once a second (a page they share counts once). Growth compares the largest sample "
                "of the run's last tenth with the largest of its first tenth (start-up included): a leak in the "
                "request loops would show as growth.", "",
                *markdown_table(["path", "requests ok", "seconds", "requests/s", "samples", "first tenth, max (MiB)",
                                 "last tenth, max (MiB)", "peak (MiB)", "growth"], rows),
                self.verdict(bench), ""]

    def figures(self):
        return {"soak.png": ("PSS of all the run's processes over the soak, per path.",
                             partial(bench_plots.soak, self))}
