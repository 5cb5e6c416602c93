"""Memory per role at its peak: every role a process, against every role in one process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from shared.bench import plots as bench_plots
from shared.bench.point import Point, Record
from shared.bench.reading import NOT_RUN, find, markdown_table, memory_mib, records_of
from shared.bench.study import Measured, Study, Sweep
from shared.core.sizes import size_text


@dataclass(frozen=True)
class Memory(Study):
    name = "memory"
    group = "sweep"
    payloads: tuple[int, ...]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for payload in self.payloads:
            for concurrency in sweep.modes:
                for path in self.paths(sweep):
                    yield sweep.point(path, concurrency, payload)

    def section(self, bench: Measured) -> list[str]:
        records = records_of(bench, self)
        lines = ["## Memory per role", "",
                 "Peak proportional set size (PSS, MiB) of each process: with processes every role is one (a mean, "
                 "× how many), with threads or asyncio the whole run is one process. PSS divides a page that "
                 "processes share among them, so the total, their sum, counts it once.", ""]
        for payload in self.payloads:
            rows = [[path.name, c, *memory_row(find(records, path=path.name, concurrency=c, payload_bytes=payload),
                                               bench_plots.role_kinds(bench))]
                    for path in self.paths(bench.sweep) for c in bench.sweep.modes]
            lines += [f"**{size_text(payload)}**", ""]
            kinds = [kind for kind, _ in bench_plots.role_kinds(bench)]
            lines += markdown_table(["path", "concurrency", *kinds, "total"], rows)
        return lines

    def figures(self):
        return {"memory.png": ("Peak memory per role: processes against threads and asyncio.",
                               partial(bench_plots.memory, self))}


def memory_row(record: Record | None, role_kinds: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Memory of the point's first round (peaks barely move between rounds), by kind of role."""
    if record is None or not record.results:
        return [NOT_RUN] * (len(role_kinds) + 1)
    first = record.first
    kinds: dict[str, list[float]] = {}
    for role in first.roles:
        kinds.setdefault(role.kind, []).append(role.pss_peak_mib)

    def cell(names: tuple[str, ...]) -> str:
        values = [value for name in names for value in kinds.get(name, [])]
        if not values:
            return ""
        return f"{sum(values) / len(values):,.1f}" + (f" × {len(values)}" if len(values) > 1 else "")

    return [*(cell(names) for _, names in role_kinds), f"{memory_mib(first):,.1f}"]
