"""Push against pull dispatch, with reqrep's retries: a responder killed or hung mid-run, and uneven service
times, on every path of the fault study, each against its own healthy run. Targets: a pulling path with a hung
responder finishes within 1.5× its healthy time with nothing lost; no reply reaches a caller twice."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench.point import Point, Record, run_options
from shared.bench.reading import (
    NOT_RUN,
    Read,
    find,
    listed,
    markdown_table,
    paired,
    rate,
    ratio_text,
    records_of,
    target_line,
)
from shared.bench.studies.faults import inflicted_at
from shared.bench.study import Measured, Study, Sweep
from shared.core.faults import parse_fault
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.core.bench_paths import BenchPath
    from shared.core.results import RunResult

def seconds(result: RunResult) -> float:
    return result.seconds


TARGET = 1.5  # a pulling path with a hung responder: at most this many times its healthy time
HEALTHY = "healthy"


@dataclass(frozen=True)
class Dispatch(Study):
    name = "dispatch"
    group = "faults"  # the fault study's paths join this one
    faults: tuple[str, ...]  # --fault specs
    service_times: tuple[str, ...]  # --service-time specs

    def cases(self) -> list[tuple[str, dict]]:
        """(what the table calls it, its run options), the healthy run first."""
        return [(HEALTHY, {}), *((f"--fault {f}", {"fault": f}) for f in self.faults),
                *((f"--service-time {s}", {"service_time": s}) for s in self.service_times)]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for _, options in self.cases():
            for path in self.paths(sweep):  # side by side: a noisy moment touches all alike
                yield sweep.point(path, **options)

    def record(self, bench: Measured, path: BenchPath, options: dict) -> Record | None:
        return find(records_of(bench, self), path=path.name, options=run_options(**options))

    def hangs(self, sweep: Sweep) -> list[str]:
        return [f for f in self.faults if parse_fault(f, sweep.responders).kind == "hang"]

    # ---- figures -------------------------------------------------------------------------------------------
    def against_healthy(self, bench: Measured, path: BenchPath, options: dict, read: Read = seconds) -> Interval:
        """read(case) / read(healthy), paired over the rounds where both gave a result."""
        return paired(self.record(bench, path, options), self.record(bench, path, {}), read)

    def hung(self, bench: Measured) -> dict:
        """Per pulling path under each hang: time over healthy time, what it lost, target met or not."""
        figures = {}
        for fault in self.hangs(bench.sweep):
            for path in self.paths(bench.sweep):
                record = self.record(bench, path, {"fault": fault})
                if path.pushes or record is None or not (record.results or record.errors):
                    continue
                found = self.against_healthy(bench, path, {"fault": fault}).median
                ratio = round(found, 3) if found is not None else None
                lost = sum(result.failed for result in record.results.values())
                figures[f"{path.name} {fault}"] = {"ratio": ratio, "lost": lost, "met": ratio is not None
                                                   and ratio <= TARGET and lost == 0 and not record.errors}
        return figures

    def summary(self, bench: Measured) -> dict:
        hung, records = self.hung(bench), records_of(bench, self)
        results = [result for record in records for result in record.results.values()]
        cases = []
        for case, options in self.cases():
            for path in self.paths(bench.sweep):
                record = self.record(bench, path, options)
                cases.append({"case": case, "path": path.name, "pushes": path.pushes, "rounds": [
                    round_figures(n, result) for n, result in sorted(record.results.items())] if record else []})
        return {"target": TARGET, "hung": hung, "met": all(f["met"] for f in hung.values()) if hung else None,
                "delivered_twice": sum(twice(result) for result in results),
                "duplicates_dropped": sum(result.duplicated for result in results),
                "healthy_throughput_ratios": {name: interval.to_json()
                                              for name, interval in self.healthy_ratios(bench).items()},
                "cases": cases}

    def healthy_ratios(self, bench: Measured) -> dict[str, Interval]:
        """Each path's healthy throughput over its transport's own path's, paired per round."""
        paths = self.paths(bench.sweep)
        plain = {path.transport: path for path in paths if path.plain}
        found = {}
        for path in paths:
            own = plain.get(path.transport)
            mine, theirs = self.record(bench, path, {}), self.record(bench, own, {}) if own else None
            if path.plain or mine is None or theirs is None:
                continue
            found[f"{path.name} / {own.name}"] = paired(mine, theirs)
        return found

    # ---- the console and report.md -------------------------------------------------------------------------
    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if not summary["cases"] or not any(case["rounds"] for case in summary["cases"]):
            return "Dispatch under faults: not measured."
        parts = [self.hung_sentence(bench, summary), self.slow_sentence(bench)]
        twice_text = ("no reply reached a caller twice anywhere" if summary["delivered_twice"] == 0 else
                      f"{summary['delivered_twice']:,} replies reached a caller twice: not met")
        parts.append(f"Duplicates: {twice_text} ({summary['duplicates_dropped']:,} late replies to resent requests "
                     "were recognised and dropped).")
        return " ".join(part for part in parts if part)

    def hung_sentence(self, bench: Measured, summary: dict) -> str:
        if summary["met"] is None:
            return ""
        judged = {name: ((f"{f['ratio']:.2f}×" if f["ratio"] is not None else "no result")
                         + (f" (lost {f['lost']:,})" if f["lost"] else ""), f["met"])
                  for name, f in summary["hung"].items()}
        pushed = [f"{path.name} {fault} {self.record(bench, path, {'fault': fault}).median(seconds):,.1f} s, "
                  f"{ratio.median:.1f}×" for fault in self.hangs(bench.sweep)
                  for path in self.paths(bench.sweep) if path.pushes
                  and (ratio := self.against_healthy(bench, path, {"fault": fault})).median is not None]
        claim = f"a pulling path with a hung responder finishes within {TARGET:g}× its healthy time, nothing lost"
        return target_line(claim, judged, {}) + (f" Pushing, as it is: {', '.join(pushed)}." if pushed else "")

    def slow_sentence(self, bench: Measured) -> str:
        if not self.service_times:
            return ""
        spec = self.service_times[0]
        shown = [f"{path.name} ({'push' if path.pushes else 'pull'}) {record.latency('p99') / 1000:,.1f} ms"
                 for path in self.paths(bench.sweep)
                 if (record := self.record(bench, path, {"service_time": spec})) is not None and record.results]
        return f"p99 with --service-time {spec}: {', '.join(shown)}." if shown else ""

    def section(self, bench: Measured) -> list[str]:
        sweep, rows = bench.sweep, []
        for case, options in self.cases():
            for path in self.paths(sweep):
                record = self.record(bench, path, options)
                rows.append([case, path.name, "push" if path.pushes else "pull", *self.cells(bench, path, options,
                                                                                              record)])
        healthy = self.healthy_ratios(bench)
        lines = ["## Push against pull: faults and uneven service times", "",
                 f"Each path's run ({sweep.requests:,} requests, {sweep.requesters} requesters in lockstep, "
                 f"{sweep.responders} responders, every role a process, `--timeout {sweep.timeout:g}`, reqrep's "
                 "retries) healthy, with a responder killed (SIGKILL) or hung (SIGSTOP until the run ends), and "
                 "with uneven service times: `slow:P%:D` makes P% of the requests take D, `exp:M` draws each from "
                 "an exponential distribution of mean M. *Push*: the broker hands each responder its turn, hung or "
                 "busy, and a request queued behind it waits (out the timeout, when hung); *pull*: a request goes "
                 "only to a free responder. A fault strikes at a share of the requests answered, the same place of "
                 "every path's run. *× healthy* is the time over the path's healthy time, paired per round; *lost* "
                 "and *duplicated* (late replies to resent requests, dropped by the requester) add up every round, "
                 "the rest are medians. With 1% of the requests slow, p99 sits at the edge of the slow requests on "
                 "every path; p99.9, the time and the 0.5% rows show what waiting behind them costs.", "",
                 *markdown_table(["case", "path", "dispatch", "seconds", "× healthy", "retries", "lost",
                                  "duplicated", "p50 (ms)", "p99 (ms)", "p99.9 (ms)", "fault (first round)"], rows),
                 self.verdict(bench), ""]
        if healthy:
            lines += ["Healthy throughput of each path over its transport's own path, paired per round: "
                      + listed(f"{name} {ratio_text(ratio)}" for name, ratio in healthy.items()) + ".", ""]
        return lines

    def cells(self, bench: Measured, path: BenchPath, options: dict, record: Record | None) -> list[str]:
        if record is None:
            return [NOT_RUN] * 9
        if not record.results:
            return ["failed", *[NOT_RUN] * 8]
        results = list(record.results.values())

        def middle(read: Callable[[RunResult], float]) -> float:
            return statistics.median(read(result) for result in results)

        against = ratio_text(self.against_healthy(bench, path, options), 2, "×") if options else NOT_RUN
        return [f"{middle(seconds):,.2f}", against,
                f"{middle(lambda r: r.retries):,.0f}", f"{sum(r.failed for r in results):,}",
                f"{sum(r.duplicated for r in results):,}",
                *(f"{middle(lambda r, key=key: r.latency_us[key]) / 1000:,.2f}" for key in ("p50", "p99", "p999")),
                inflicted_at(record) if "fault" in options else NOT_RUN]


def twice(result: RunResult) -> int:
    """Replies a requester took as answers beyond one per request: a duplicate that reached the caller."""
    return max(0, result.answered - result.parameters["requests"])


def round_figures(n: int, result: RunResult) -> dict:
    latency = result.latency_us
    return {"round": n, "seconds": round(result.seconds, 3), "throughput_rps": round(rate(result), 1),
            "retries": result.retries, "lost": result.failed, "duplicated": result.duplicated,
            "delivered_twice": twice(result), "p50_us": latency["p50"], "p99_us": latency["p99"],
            "p999_us": latency["p999"], "inflicted": result.fault}
