"""Your own values (`reqrep bench --payload PATH[:NAME]`) on each path that carries them unchanged:
throughput, p50, p99 and encoded size per path, and paired ratios between transports. A path that cannot
carry them is left out before anything starts, with the check's sentences."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.point import VALUES, Point, Record
from shared.bench.reading import (
    NOT_RUN,
    find,
    firsts_and_others,
    listed,
    markdown_table,
    p50_of,
    p99_of,
    paired,
    rate,
    ratio_text,
    records_of,
)
from shared.bench.study import Measured, Study, Sweep
from shared.core.bench_paths import EVERY_STUDY
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.core.bench_paths import BenchPath


@dataclass(frozen=True)
class Values(Study):
    name = "values"

    def paths(self, sweep: Sweep) -> list[BenchPath]:
        """Each transport's own path and those that name the study (another codec: zmq's msgpack-ext)."""
        return [path for path in sweep.paths if path.plain or {self.name, EVERY_STUDY} & set(path.studies)]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):
            yield sweep.point(path, "processes", sweep.payload.approximate_bytes(), payload_kind=VALUES)

    # ---- reading ------------------------------------------------------------------------------------------
    def record(self, bench: Measured, path: BenchPath) -> Record | None:
        found = find(records_of(bench, self), path=path.name, payload_kind=VALUES)
        return found if found is not None and found.succeeded else None

    def pairs(self, sweep: Sweep) -> list[tuple[BenchPath, BenchPath]]:
        """(top, bottom): each transport's first path over the next one's, each other path over its first."""
        firsts, others = firsts_and_others(self.paths(sweep))
        return [*zip(firsts, firsts[1:], strict=False), *others]

    def paired(self, bench: Measured, top: BenchPath, bottom: BenchPath) -> Interval:
        return paired(self.record(bench, top), self.record(bench, bottom))

    # ---- results.json and the console ----------------------------------------------------------------------
    def summary(self, bench: Measured) -> dict:
        sweep, paths = bench.sweep, {}
        for path in self.paths(sweep):
            record = self.record(bench, path)
            if record is not None:
                weight = record.first.bytes_per_request
                paths[path.name] = {"codec": path.codec, "throughput_rps": round(record.median(rate), 1),
                                    "p50_us": record.latency("p50"), "p99_us": record.latency("p99"),
                                    "payload_bytes": weight.get("payload"), "bytes_per_request": weight.get("total")}
        ratios = {f"{a.name} / {b.name}": self.paired(bench, a, b).to_json() for a, b in self.pairs(sweep)}
        return {"payload": sweep.payload.source, "values": list(sweep.payload.names), "paths": paths,
                "throughput_ratios": ratios, "left_out": {name: list(why) for name, why in sweep.left_out}}

    def verdict(self, bench: Measured) -> str:
        ratios = [(f"{a.name} / {b.name}", found) for a, b in self.pairs(bench.sweep)
                  if (found := self.paired(bench, a, b)).median is not None]
        if not ratios:
            return ""
        shown = ", ".join(f"{name} {found.median:.2f}×" for name, found in ratios)
        return f"Your values ({bench.sweep.payload.source}), throughput: {shown}."

    # ---- report.md -----------------------------------------------------------------------------------------
    def section(self, bench: Measured) -> list[str]:
        sweep = bench.sweep
        payload, paths = sweep.payload, self.paths(sweep)
        requests = listed(f"`{record.point.path}` {record.point.requests:,}" for record in records_of(bench, self))
        rows = [[path.name, path.codec, *self.cells(bench, path)] for path in paths]
        lines = ["## Your values", "",
                 f"The requests are the values of `{payload.source}` ({listed(f'`{n}`' for n in payload.names)}), "
                 f"each requester sending them in turn, echoed back by responders that return each request as they "
                 f"received it, and every reply compared with what was sent: identical, or the request failed (a "
                 f"`--payload` run; {sweep.requesters} requesters, {sweep.responders} responders, every role a "
                 f"process; requests per point: {requests}). *Encoded* is a value's mean size once its path has "
                 f"encoded it, *per request* what a request and its reply weigh as the path's messages.", "",
                 *markdown_table(["path", "codec", "encoded (bytes)", "per request (bytes)", "requests/s",
                                  "p50 (µs)", "p99 (µs)"], rows)]
        pairs = [(a, b, found) for a, b in self.pairs(sweep) if (found := self.paired(bench, a, b)).median is not None]
        if pairs:
            lines += ["Throughput of one path over another, paired per round: "
                      + listed(f"{a.name} / {b.name} {ratio_text(found, 2)}" for a, b, found in pairs) + ".", ""]
        if sweep.left_out:
            lines += ["Left out, since their codec cannot carry every value unchanged (the check that `reqrep run "
                      "--payload` makes before it starts):", ""]
            lines += [f"- `{name}`: {'; '.join(why)}" for name, why in sweep.left_out] + [""]
        return lines

    def cells(self, bench: Measured, path: BenchPath) -> list[str]:
        record = self.record(bench, path)
        if record is None:
            found = find(records_of(bench, self), path=path.name, payload_kind=VALUES)
            failed = NOT_RUN if found is None else "failed" if not found.results else f"lost {found.failed:,}"
            return ["", "", failed, NOT_RUN, NOT_RUN]
        weight = record.first.bytes_per_request
        return [f"{weight.get('payload', 0):,}", f"{weight.get('total', 0):,}", f"{record.median(rate):,.0f}",
                *(f"{record.median(read):,.0f}" for read in (p50_of, p99_of))]
