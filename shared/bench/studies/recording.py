"""What timing every request costs: each path with latency recording on and off, paired per round."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.point import Point, Record
from shared.bench.reading import find, markdown_table, measured, rate, ratio_text, records_of, target_line
from shared.bench.study import Measured, Study, Sweep
from shared.report.statistics import Interval, paired_ratio

if TYPE_CHECKING:
    from shared.core.results import RunResult

TARGET = 0.02  # recording may cost at most this share of throughput


def cpu_us(result: RunResult) -> float:
    """CPU per request over every process of the run, µs: steadier than throughput on a shared machine."""
    return result.cpu_seconds / result.parameters["requests"] * 1e6


def ratios(pairs: list[tuple[RunResult, RunResult]]) -> tuple[Interval, Interval]:
    """Throughput off / on and CPU per request on / off, paired over the (on, off) rounds given."""
    on, off = [a for a, _ in pairs], [b for _, b in pairs]
    return (paired_ratio([r.throughput_rps for r in off], [r.throughput_rps for r in on]),
            paired_ratio([cpu_us(r) for r in on], [cpu_us(r) for r in off]))


@dataclass(frozen=True)
class Recording(Study):
    name = "recording"

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):
            yield sweep.point(path)
            yield sweep.point(path, record_latency=False)

    def pairs(self, bench: Measured) -> dict[str, list[tuple[RunResult, RunResult]]]:
        """Per path, (on, off) of every round in which both ran and answered every request."""
        found: dict[str, list[tuple[RunResult, RunResult]]] = {}
        records = records_of(bench, self)
        for path in self.paths(bench.sweep):
            on, off = self.record(records, path.name, True), self.record(records, path.name, False)
            if on is not None and off is not None:
                found[path.name] = [(on.results[n], off.results[n]) for n in sorted(on.results)
                                    if n in off.results and on.results[n].succeeded and off.results[n].succeeded]
        return found

    @staticmethod
    def record(records: list[Record], path: str, recording: bool) -> Record | None:
        return find(records, path=path, options=() if recording else (("record_latency", False),))

    def summary(self, bench: Measured) -> dict:
        figures = {}
        for path, pairs in self.pairs(bench).items():
            throughput, cpu = ratios(pairs)
            cost = round(throughput.median - 1, 4) if pairs else None
            figures[path] = {"rounds": len(pairs), "throughput_off_over_on": throughput.to_json(),
                             "cpu_on_over_off": cpu.to_json(), "cost": cost,
                             "met": cost <= TARGET if pairs else None}
        costs = [figure["cost"] for figure in figures.values() if figure["cost"] is not None]
        return {"target": TARGET, "met": all(cost <= TARGET for cost in costs) if costs else None, "paths": figures}

    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if summary["met"] is None:
            return "Recording cost: not measured (no round where both runs answered every request)."
        judged = {path: (f"{figure['cost']:+.1%}", figure["met"]) for path, figure in summary["paths"].items()
                  if figure["cost"] is not None}
        return target_line(f"recording latency costs at most {TARGET:.0%} of throughput", judged, {})

    def section(self, bench: Measured) -> list[str]:
        records, pairs, rows = records_of(bench, self), self.pairs(bench), []
        for path in self.paths(bench.sweep):
            on, off = self.record(records, path.name, True), self.record(records, path.name, False)
            paired = pairs.get(path.name, [])
            throughput, cpu = ratios(paired)
            rows.append([path.name, str(len(paired)), measured(on, rate), measured(off, rate), ratio_text(throughput),
                         measured(on, cpu_us, digits=1), measured(off, cpu_us, digits=1), ratio_text(cpu)])
        sweep = bench.sweep
        return ["## What recording latency costs", "",
                f"Each transport's run ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                f"{sweep.responders} responders, every role a process) with latency recording on and off "
                "(`--no-latency`) one after the other in every round, in turn first; the ratios are paired per "
                "round. Throughput off / on above 1 is what recording "
                "costs; CPU per request sums every process of the run, and is steadier than throughput on a shared "
                "machine.", "",
                *markdown_table(["path", "paired rounds", "requests/s, recording", "requests/s, not recording",
                                 "throughput off / on", "CPU µs per request, recording",
                                 "CPU µs per request, not recording", "CPU on / off"], rows),
                self.verdict(bench), ""]
