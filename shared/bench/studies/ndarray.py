"""NumPy arrays, 1 KiB to 8 MiB: throughput and p50 per size on each path that carries them, paired ratios
between transports and between a transport's paths, and where a round trip's time goes."""

from __future__ import annotations

import dataclasses
import importlib.util
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from shared.bench import plots as bench_plots
from shared.bench.point import Point, Record
from shared.bench.reading import (
    NOT_RUN,
    Read,
    find,
    firsts_and_others,
    listed,
    markdown_table,
    measured,
    p50_of,
    paired,
    rate,
    ratio_text,
    records_of,
)
from shared.bench.study import Measured, Study, Sweep
from shared.core.errors import UsageError
from shared.core.sizes import MIB, size_text
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.core.bench_paths import BenchPath

KIND = "ndarray"  # the points' payload kind (shared.semantics.values.BENCH_VALUES)


@dataclass(frozen=True)
class Arrays(Study):
    name = "ndarray"
    sizes: tuple[int, ...]  # bytes of each array
    fewest: int = 0  # requests per point at the least: the first request's buffer growth weighs on a handful

    def paths(self, sweep: Sweep) -> list[BenchPath]:
        """Only the paths that name the study: a transport's own codec may not carry an array."""
        return [path for path in sweep.paths if self.name in path.studies]

    def requires(self) -> None:
        if importlib.util.find_spec("numpy") is None:
            raise UsageError("the ndarray study sends NumPy arrays, and NumPy is not installed: "
                             "pip install 'reqrep[numpy]'")

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for size in self.sizes:  # side by side: a noisy moment touches all alike
            for path in self.paths(sweep):
                yield self.point(sweep, path, size)

    def point(self, sweep: Sweep, path: BenchPath, size: int) -> Point:
        point = sweep.point(path, "processes", size, payload_kind=KIND)
        return dataclasses.replace(point, requests=max(point.requests, min(self.fewest, sweep.requests)))

    # ---- reading ------------------------------------------------------------------------------------------
    def record(self, bench: Measured, path: BenchPath, size: int) -> Record | None:
        found = find(records_of(bench, self), path=path.name, payload_bytes=size, payload_kind=KIND)
        return found if found is not None and found.succeeded else None

    def firsts(self, sweep: Sweep) -> list[BenchPath]:
        return firsts_and_others(self.paths(sweep))[0]

    def variants(self, sweep: Sweep) -> list[tuple[BenchPath, BenchPath]]:
        """(a transport's other path, its first path): a setting changed, zero-copy sends say."""
        return firsts_and_others(self.paths(sweep))[1]

    def paired(self, bench: Measured, top: BenchPath, bottom: BenchPath, size: int, read: Read = rate) -> Interval:
        """read(top) / read(bottom), paired over the rounds where both answered every request."""
        return paired(self.record(bench, top, size), self.record(bench, bottom, size), read)

    def costs(self, bench: Measured, path: BenchPath, size: int) -> dict | None:
        """The median over rounds of each codec cost, and what they make of a round trip's p50."""
        record = self.record(bench, path, size)
        if record is None or not record.codec_costs:
            return None
        rounds = list(record.codec_costs.values())
        found = {key: statistics.median(costs[key] for costs in rounds) for key in rounds[0]}
        p50 = record.latency("p50")
        codec = found["passes"] * (found["encode_us"] + found["decode_us"])
        return found | {"codec_us": round(codec, 1), "p50_us": p50, "rest_us": round(p50 - codec, 1)}

    # ---- results.json and the console ----------------------------------------------------------------------
    def summary(self, bench: Measured) -> dict:
        sweep, figures = bench.sweep, {}
        for path in self.paths(sweep):
            rows = {}
            for size in self.sizes:
                record = self.record(bench, path, size)
                if record is not None:
                    rows[str(size)] = {"throughput_rps": round(record.median(rate), 1), "p50_us": record.latency("p50"),
                                       "costs": self.costs(bench, path, size)}
            figures[path.name] = rows
        firsts = self.firsts(sweep)
        ratios = {f"{a.name} / {b.name}": {str(size): self.paired(bench, a, b, size).to_json() for size in self.sizes}
                  for a, b in zip(firsts, firsts[1:], strict=False)}
        settings = {f"{variant.name} / {first.name}": {
            str(size): self.paired(bench, variant, first, size, p50_of).to_json() for size in self.sizes}
            for variant, first in self.variants(sweep)}
        return {"paths": figures, "throughput_ratios": ratios, "p50_ratios_paired": settings}

    def verdict(self, bench: Measured) -> str:
        firsts = self.firsts(bench.sweep)
        if len(firsts) < 2:
            return ""
        a, b = firsts[:2]
        found = [(size, value) for size in self.sizes if (value := self.paired(bench, a, b, size).median) is not None]
        if not found:
            return "Arrays: not measured."
        shown = ", ".join(f"{value:.2f}× at {size_text(size)}" for size, value in found)
        return f"Arrays, throughput of {a.name} over {b.name}: {shown}."

    def figures(self):
        return {"ndarray.png": ("p50 latency and arrays moved per second against the array's size, per path "
                                "(log-log).", partial(bench_plots.arrays, self))}

    # ---- report.md -----------------------------------------------------------------------------------------
    def section(self, bench: Measured) -> list[str]:
        sweep = bench.sweep
        paths, firsts = self.paths(sweep), self.firsts(sweep)
        pairs = list(zip(firsts, firsts[1:], strict=False))
        counts = listed(f"{size_text(size)} {self.point(sweep, paths[0], size).requests:,}"
                        for size in self.sizes) if paths else ""

        def cell(path: BenchPath, size: int, read: Read = rate, **shape: float) -> str:
            return measured(self.record(bench, path, size), read, **shape)

        lines = ["## NumPy arrays", "",
                 f"Each request is one float64 array of the size given, echoed back and compared with what was sent "
                 f"(a `--payload` run of arrays; {sweep.requesters} requester{'s' * (sweep.requesters > 1)}, "
                 f"{sweep.responders} responder{'s' * (sweep.responders > 1)}, every role a process, requests per "
                 f"point: {counts}). A path whose codec cannot carry an array is not here.", "",
                 "**Throughput, requests/s** (higher is better), and the ratio of each transport's first path to "
                 "the next one's, paired per round:", "",
                 *markdown_table(["array", *(p.name for p in paths), *(f"{a.name} / {b.name}" for a, b in pairs)],
                                 [[size_text(size), *(cell(p, size) for p in paths),
                                   *(ratio_text(self.paired(bench, a, b, size), 2) for a, b in pairs)]
                                  for size in self.sizes]),
                 "**p50 latency, ms** (lower is better), and arrays moved each way per second, MiB/s:", "",
                 *markdown_table(["array", *(p.name for p in paths), *(f"{p.name}, MiB/s" for p in firsts)],
                                 [[size_text(size), *(cell(p, size, p50_of, scale=1e-3, digits=2) for p in paths),
                                   *(cell(p, size, scale=size / MIB, digits=1) for p in firsts)]
                                  for size in self.sizes])]
        return lines + self.settings_table(bench) + self.breakdown(bench)

    def settings_table(self, bench: Measured) -> list[str]:
        variants = self.variants(bench.sweep)
        if not variants:
            return []
        described = "; ".join(f"`{v.name}`: {v.description}" for v, _ in variants)
        return ["**A setting on and off**: the p50 of each transport's other paths over its first one's, paired per "
                "round (below 1: the other path is faster). " + described + ".", "",
                *markdown_table(["array", *(f"{v.name} / {first.name}" for v, first in variants)],
                                [[size_text(size), *(ratio_text(self.paired(bench, v, first, size, p50_of), 2)
                                                     for v, first in variants)] for size in self.sizes])]

    def breakdown(self, bench: Measured) -> list[str]:
        rows = []
        for size in self.sizes:
            for path in self.firsts(bench.sweep):
                found = self.costs(bench, path, size)
                if found is None:
                    rows.append([size_text(size), path.name, *[NOT_RUN] * 8])
                    continue
                rows.append([size_text(size), path.name, f"{found['encoded_bytes']:,}",
                             *(f"{found[key]:,.1f}" for key in ("encode_us", "decode_us", "copy_us")),
                             f"{found['passes']} × {found['encode_us'] + found['decode_us']:,.1f} = "
                             f"{found['codec_us']:,.0f}", f"{found['p50_us']:,.0f}", f"{found['rest_us']:,.0f}",
                             f"{found['rest_us'] / found['copy_us']:,.1f}" if found["copy_us"] else NOT_RUN])
        return ["**Where a round trip's time goes** (µs; each transport's first path), measured in each point's "
                "process after its run, medians: *encode* and *decode* are what the transport does to the value on "
                "one connection, *a copy* one memcpy of the encoded bytes. A round trip encodes and decodes it "
                "*passes* times (request, reply, and each hop through a server that reads it). *The rest* is p50 "
                "less that codec work (sockets, copies, processes waking); *in copies* counts it in copies of the "
                "encoded array.", "",
                *markdown_table(["array", "path", "encoded bytes", "encode", "decode", "a copy",
                                 "codec, per round trip", "p50", "the rest", "the rest, in copies"], rows)]
