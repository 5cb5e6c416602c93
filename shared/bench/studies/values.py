"""Payloads other than text, on each path that carries them: your own values (`reqrep bench --payload`; a path
that cannot carry them is left out before anything starts, with the check's sentences) and NumPy arrays of
1 KiB to 8 MiB, with paired ratios between transports and where a round trip's time goes."""

from __future__ import annotations

import dataclasses
import importlib.util
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

from shared.bench.point import VALUES, Point, Record
from shared.bench.reading import NOT_RUN, firsts_and_others, listed, measured, p50_of, p99_of, paired, rate, ratio_text
from shared.bench.study import Measured, Section, Study, Sweep, Table
from shared.core.errors import UsageError
from shared.core.sizes import MIB, size_text
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.bench.reading import Read
    from shared.core.bench_paths import BenchPath

KIND = "ndarray"  # the array points' payload kind (shared.semantics.values.BENCH_VALUES)


@dataclass(frozen=True)
class Values(Study):
    """Throughput, p50, p99 and encoded size of your values per path, and paired ratios between transports."""

    name = "values"

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):
            yield sweep.point(path, "processes", sweep.payload.approximate_bytes(), payload_kind=VALUES)

    def record(self, bench: Measured, path: BenchPath) -> Record | None:
        found = self.find(bench, path=path.name, payload_kind=VALUES)
        return found if found is not None and found.succeeded else None

    def pairs(self, bench: Measured) -> list[tuple[str, Interval]]:
        """Throughput of each transport's first path over the next one's, and of each other path over its
        transport's first."""
        firsts, others = firsts_and_others(self.paths(bench.sweep))
        return [(f"{a.name} / {b.name}", paired(self.record(bench, a), self.record(bench, b)))
                for a, b in [*zip(firsts, firsts[1:], strict=False), *others]]

    def summary(self, bench: Measured) -> dict:
        sweep, paths = bench.sweep, {}
        for path in self.paths(sweep):
            if (record := self.record(bench, path)) is not None:
                weight = record.first.bytes_per_request
                paths[path.name] = {"codec": path.codec, "throughput_rps": round(record.median(rate), 1),
                                    "p50_us": record.latency("p50"), "p99_us": record.latency("p99"),
                                    "payload_bytes": weight.get("payload"), "bytes_per_request": weight.get("total")}
        return {"payload": sweep.payload.source, "values": list(sweep.payload.names), "paths": paths,
                "throughput_ratios": {name: ratio.to_json() for name, ratio in self.pairs(bench)},
                "left_out": {name: list(why) for name, why in sweep.left_out}}

    def verdict(self, bench: Measured) -> str:
        shown = ", ".join(f"{name} {ratio.median:.2f}×" for name, ratio in self.pairs(bench)
                         if ratio.median is not None)
        return f"Your values ({bench.sweep.payload.source}), throughput: {shown}." if shown else ""

    def sections(self, bench: Measured) -> list[Section]:
        sweep = bench.sweep
        payload, paths = sweep.payload, self.paths(sweep)
        requests = listed(f"`{record.point.path}` {record.point.requests:,}" for record in self.records(bench))
        after, ratios = [], [f"{name} {ratio_text(ratio, 2)}" for name, ratio in self.pairs(bench)
                          if ratio.median is not None]
        if ratios:
            after.append("Throughput of one path over another, paired per round: " + listed(ratios) + ".")
        if sweep.left_out:
            after += ["Left out, since their codec cannot carry every value unchanged (the check that `reqrep run "
                      "--payload` makes before it starts):",
                      "\n".join(f"- `{name}`: {'; '.join(why)}" for name, why in sweep.left_out)]
        return [Section("Your values",
                        f"The requests are the values of `{payload.source}` ({listed(f'`{n}`' for n in payload.names)}"
                        "), each requester sending them in turn, echoed back by responders that return each request as "
                        "they received it, and every reply compared with what was sent: identical, or the request "
                        f"failed (a `--payload` run; {sweep.requesters} requesters, {sweep.responders} responders, "
                        f"every role a process; requests per point: {requests}). *Encoded* is a value's mean size once "
                        "its path has encoded it, *per request* what a request and its reply weigh as the path's "
                        "messages.",
                        [Table(["path", "codec", "encoded (bytes)", "per request (bytes)", "requests/s", "p50 (µs)",
                                "p99 (µs)"], [[path.name, path.codec, *self.cells(bench, path)] for path in paths])],
                        after)]

    def cells(self, bench: Measured, path: BenchPath) -> list[str]:
        found = self.find(bench, path=path.name, payload_kind=VALUES)
        if found is None or not found.succeeded:
            return ["", "", measured(found, rate), NOT_RUN, NOT_RUN]
        weight = found.first.bytes_per_request
        return [f"{weight.get('payload', 0):,}", f"{weight.get('total', 0):,}",
                *(measured(found, read) for read in (rate, p50_of, p99_of))]


@dataclass(frozen=True)
class Arrays(Study):
    """NumPy arrays: throughput and p50 per size on each path that carries them."""

    name = "ndarray"
    figures = {"ndarray.png": ("p50 latency and arrays moved per second against the array's size, per path "
                               "(log-log).", "arrays")}
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
        for size, path in product(self.sizes, self.paths(sweep)):  # side by side: noise touches all alike
            yield self.point(sweep, path, size)

    def point(self, sweep: Sweep, path: BenchPath, size: int) -> Point:
        point = sweep.point(path, "processes", size, payload_kind=KIND)
        return dataclasses.replace(point, requests=max(point.requests, min(self.fewest, sweep.requests)))

    def record(self, bench: Measured, path: BenchPath, size: int) -> Record | None:
        found = self.find(bench, path=path.name, payload_bytes=size, payload_kind=KIND)
        return found if found is not None and found.succeeded else None

    def pairs(self, sweep: Sweep) -> list[tuple[BenchPath, BenchPath]]:
        """(a transport's first path, the next transport's first path)."""
        firsts = firsts_and_others(self.paths(sweep))[0]
        return list(zip(firsts, firsts[1:], strict=False))

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

    def summary(self, bench: Measured) -> dict:
        sweep, figures = bench.sweep, {}
        for path in self.paths(sweep):
            figures[path.name] = {str(size): {"throughput_rps": round(record.median(rate), 1),
                                              "p50_us": record.latency("p50"), "costs": self.costs(bench, path, size)}
                                  for size in self.sizes if (record := self.record(bench, path, size)) is not None}

        def ratios(pairs: list[tuple[BenchPath, BenchPath]], read: Read) -> dict:
            return {f"{a.name} / {b.name}": {str(size): self.paired(bench, a, b, size, read).to_json()
                                             for size in self.sizes} for a, b in pairs}

        return {"paths": figures, "throughput_ratios": ratios(self.pairs(sweep), rate),
                "p50_ratios_paired": ratios(firsts_and_others(self.paths(sweep))[1], p50_of)}

    def verdict(self, bench: Measured) -> str:
        if not (pairs := self.pairs(bench.sweep)):
            return ""
        a, b = pairs[0]
        found = [(size, value) for size in self.sizes if (value := self.paired(bench, a, b, size).median) is not None]
        if not found:
            return "Arrays: not measured."
        shown = ", ".join(f"{value:.2f}× at {size_text(size)}" for size, value in found)
        return f"Arrays, throughput of {a.name} over {b.name}: {shown}."

    def sections(self, bench: Measured) -> list[Section]:
        sweep = bench.sweep
        paths, pairs = self.paths(sweep), self.pairs(sweep)
        firsts = firsts_and_others(paths)[0]
        counts = listed(f"{size_text(size)} {self.point(sweep, paths[0], size).requests:,}"
                        for size in self.sizes) if paths else ""

        def cell(path: BenchPath, size: int, read: Read = rate, **shape: float) -> str:
            return measured(self.record(bench, path, size), read, **shape)

        tables = [Table(["array", *(p.name for p in paths), *(f"{a.name} / {b.name}" for a, b in pairs)],
                        [[size_text(size), *(cell(p, size) for p in paths),
                          *(ratio_text(self.paired(bench, a, b, size), 2) for a, b in pairs)] for size in self.sizes],
                        "**Throughput, requests/s** (higher is better), and the ratio of each transport's first path "
                        "to the next one's, paired per round:"),
                  Table(["array", *(p.name for p in paths), *(f"{p.name}, MiB/s" for p in firsts)],
                        [[size_text(size), *(cell(p, size, p50_of, scale=1e-3, digits=2) for p in paths),
                          *(cell(p, size, scale=size / MIB, digits=1) for p in firsts)] for size in self.sizes],
                        "**p50 latency, ms** (lower is better), and arrays moved each way per second, MiB/s:")]
        return [Section("NumPy arrays",
                        "Each request is one float64 array of the size given, echoed back and compared with what was "
                        f"sent (a `--payload` run of arrays; {sweep.requesters} requester"
                        f"{'s' * (sweep.requesters > 1)}, {sweep.responders} responder{'s' * (sweep.responders > 1)}, "
                        f"every role a process, requests per point: {counts}). A path whose codec cannot carry an "
                        "array is not here.", [*tables, *self.settings_table(bench), self.breakdown(bench)])]

    def settings_table(self, bench: Measured) -> list[Table]:
        if not (variants := firsts_and_others(self.paths(bench.sweep))[1]):
            return []
        described = "; ".join(f"`{v.name}`: {v.description}" for v, _ in variants)
        return [Table(["array", *(f"{v.name} / {first.name}" for v, first in variants)],
                      [[size_text(size), *(ratio_text(self.paired(bench, v, first, size, p50_of), 2)
                                           for v, first in variants)] for size in self.sizes],
                      "**A setting on and off**: the p50 of each transport's other paths over its first one's, paired "
                      "per round (below 1: the other path is faster). " + described + ".")]

    def breakdown(self, bench: Measured) -> Table:
        rows = []
        for size, path in product(self.sizes, firsts_and_others(self.paths(bench.sweep))[0]):
            found = self.costs(bench, path, size)
            rows.append([size_text(size), path.name, *(cost_cells(found) if found else [NOT_RUN] * 8)])
        return Table(["array", "path", "encoded bytes", "encode", "decode", "a copy", "codec, per round trip", "p50",
                      "the rest", "the rest, in copies"], rows,
                     "**Where a round trip's time goes** (µs; each transport's first path), measured in each point's "
                     "process after its run, medians: *encode* and *decode* are what the transport does to the value "
                     "on one connection, *a copy* one memcpy of the encoded bytes. A round trip encodes and decodes it "
                     "*passes* times (request, reply, and each hop through a server that reads it). *The rest* is p50 "
                     "less that codec work (sockets, copies, processes waking); *in copies* counts it in copies of the "
                     "encoded array.")


def cost_cells(found: dict) -> list[str]:
    return [f"{found['encoded_bytes']:,}", *(f"{found[key]:,.1f}" for key in ("encode_us", "decode_us", "copy_us")),
            f"{found['passes']} × {found['encode_us'] + found['decode_us']:,.1f} = {found['codec_us']:,.0f}",
            f"{found['p50_us']:,.0f}", f"{found['rest_us']:,.0f}",
            f"{found['rest_us'] / found['copy_us']:,.1f}" if found["copy_us"] else NOT_RUN]
