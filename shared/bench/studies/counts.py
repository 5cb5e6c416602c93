"""Requesters and responders added: where each transport stops gaining, and what limits it then."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.bench.point import Point
from shared.bench.reading import find, listed, markdown_table, measured, p50_of, rate, records_of
from shared.bench.study import Measured, Study, Sweep
from shared.core.sizes import size_text


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

    def section(self, bench: Measured) -> list[str]:
        records = records_of(bench, self)
        columns = [(path.name, c) for path in self.paths(bench.sweep) for c in bench.sweep.modes]
        rows = [[f"{rq} × {rs}", *(measured(find(records, path=path, concurrency=c, requesters=rq, responders=rs),
                                            rate, p50_of) for path, c in columns)] for rq, rs in self.counts]
        return ["## Requesters and responders", "",
                f"Throughput (requests/s) / p50 latency (µs) as requesters and responders are added, at "
                f"{size_text(bench.sweep.reference_payload)}: where a path stops gaining, something else (a core, "
                f"the GIL, the one {listed(bench.server_roles, 'or')} every request crosses) is the limit.", "",
                *markdown_table(["requesters × responders", *(f"{path}, {c}" for path, c in columns)], rows)]
