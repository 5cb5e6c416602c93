"""Requesters and responders added: where each transport stops gaining, and what limits it then."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.study import Point, Study, find, markdown_table, measured, p50_of, rate, records_of
from shared.core.sizes import size_text

if TYPE_CHECKING:
    from shared.bench.engine import Bench
    from shared.bench.sweep import Sweep


@dataclass(frozen=True)
class Counts(Study):
    name = "counts"
    counts: tuple[tuple[int, int], ...]  # (requesters, responders)

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for requesters, responders in self.counts:
            for concurrency in sweep.modes:
                for path in self.paths(sweep):
                    yield sweep.point(path, concurrency, sweep.reference_payload, requesters=requesters,
                                      responders=responders)

    def section(self, bench: Bench) -> list[str]:
        records = records_of(bench, self)
        columns = [(path.name, c) for path in self.paths(bench.sweep) for c in bench.sweep.modes]
        rows = [[f"{rq} × {rs}", *(measured(find(records, path=path, concurrency=c, requesters=rq, responders=rs),
                                            rate, p50_of) for path, c in columns)] for rq, rs in self.counts]
        return ["## Requesters and responders", "",
                f"Throughput (requests/s) / p50 latency (µs) as requesters and responders are added, at "
                f"{size_text(bench.sweep.reference_payload)}: where a path stops gaining, something else (a core, "
                "the GIL, the one manager server) is the limit.", "",
                *markdown_table(["requesters × responders", *(f"{path}, {c}" for path, c in columns)], rows)]
