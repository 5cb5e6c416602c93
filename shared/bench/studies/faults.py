"""Faults: push against pull dispatch under a responder killed or hung mid-run and uneven service times,
each case against its path's healthy run; and what each path loses by itself (`--retries 0`) and with
reqrep's retries. Targets: a pulling path with a hung responder finishes within 1.5× its healthy time with
nothing lost; no reply reaches a caller twice; nothing is lost with retries."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING, Any

from shared.bench.point import Point, Record, run_options
from shared.bench.reading import NOT_RUN, listed, paired, rate, ratio_text, target_line
from shared.bench.study import Measured, Section, Study, Sweep, Table
from shared.core.faults import parse_fault
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.core.bench_paths import BenchPath
    from shared.core.results import RunResult

TARGET = 1.5  # a pulling path with a hung responder: at most this many times its healthy time
BY_ITSELF = 0  # retries: a request that goes unanswered is never sent again
WITH_RETRIES = None  # retries: reqrep's default


def seconds(result: RunResult) -> float:
    return result.seconds


@dataclass(frozen=True)
class Dispatch(Study):
    """Push against pull, with reqrep's retries, on every path of the fault study."""

    name = "dispatch"
    group = "faults"  # the fault study's paths join this one
    faults: tuple[str, ...]  # --fault specs
    service_times: tuple[str, ...]  # --service-time specs

    def cases(self) -> list[tuple[str, dict]]:
        """(what the table calls it, its run options), the healthy run first."""
        return [("healthy", {}), *((f"--fault {f}", {"fault": f}) for f in self.faults),
                *((f"--service-time {s}", {"service_time": s}) for s in self.service_times)]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for _, options in self.cases():
            for path in self.paths(sweep):  # side by side: a noisy moment touches all alike
                yield sweep.point(path, **options)

    def record(self, bench: Measured, path: BenchPath, options: dict) -> Record | None:
        return self.find(bench, path=path.name, options=run_options(**options))

    def hangs(self, sweep: Sweep) -> list[str]:
        return [f for f in self.faults if parse_fault(f, sweep.responders).kind == "hang"]

    def against_healthy(self, bench: Measured, path: BenchPath, options: dict) -> Interval:
        """The case's time over the healthy run's, paired over the rounds where both gave a result."""
        return paired(self.record(bench, path, options), self.record(bench, path, {}), seconds)

    def hung(self, bench: Measured) -> dict:
        """Per pulling path under each hang: time over healthy time, what it lost, target met or not."""
        figures = {}
        for fault, path in product(self.hangs(bench.sweep), self.paths(bench.sweep)):
            record = self.record(bench, path, {"fault": fault})
            if path.pushes or record is None or not (record.results or record.errors):
                continue
            found = self.against_healthy(bench, path, {"fault": fault}).median
            ratio = round(found, 3) if found is not None else None
            figures[f"{path.name} {fault}"] = {"ratio": ratio, "lost": record.failed, "met": ratio is not None
                                               and ratio <= TARGET and record.failed == 0 and not record.errors}
        return figures

    def summary(self, bench: Measured) -> dict:
        hung, results = self.hung(bench), [r for record in self.records(bench) for r in record.results.values()]
        cases = [{"case": case, "path": path.name, "pushes": path.pushes,
                  "rounds": [round_figures(n, result) for n, result in sorted(record.results.items())]
                  if (record := self.record(bench, path, options)) else []}
                 for case, options in self.cases() for path in self.paths(bench.sweep)]
        return {"target": TARGET, "hung": hung, "met": all(f["met"] for f in hung.values()) if hung else None,
                "delivered_twice": sum(twice(result) for result in results),
                "duplicates_dropped": sum(result.duplicated for result in results),
                "healthy_throughput_ratios": {name: ratio.to_json() for name, ratio in self.healthy(bench).items()},
                "cases": cases}

    def healthy(self, bench: Measured) -> dict[str, Interval]:
        """Each path's healthy throughput over its transport's own path's, paired per round."""
        paths = self.paths(bench.sweep)
        plain = {path.transport: path for path in paths if path.plain}
        found = {}
        for path in paths:
            own = plain.get(path.transport)
            mine, theirs = self.record(bench, path, {}), self.record(bench, own, {}) if own else None
            if not path.plain and mine is not None and theirs is not None:
                found[f"{path.name} / {own.name}"] = paired(mine, theirs)
        return found

    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if not any(case["rounds"] for case in summary["cases"]):
            return "Dispatch under faults: not measured."
        twice_text = ("no reply reached a caller twice anywhere" if summary["delivered_twice"] == 0 else
                      f"{summary['delivered_twice']:,} replies reached a caller twice: not met")
        parts = [self.hung_sentence(bench, summary), self.slow_sentence(bench),
                 f"Duplicates: {twice_text} ({summary['duplicates_dropped']:,} late replies to resent requests were "
                 "recognised and dropped)."]
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

    def sections(self, bench: Measured) -> list[Section]:
        sweep, healthy = bench.sweep, self.healthy(bench)
        rows = [[case, path.name, "push" if path.pushes else "pull", *self.cells(bench, path, options)]
                for case, options in self.cases() for path in self.paths(sweep)]
        after = [self.verdict(bench)]
        if healthy:
            after.append("Healthy throughput of each path over its transport's own path, paired per round: "
                         + listed(f"{name} {ratio_text(ratio)}" for name, ratio in healthy.items()) + ".")
        return [Section("Push against pull: faults and uneven service times",
                        f"Each path's run ({sweep.requests:,} requests, {sweep.requesters} requesters in lockstep, "
                        f"{sweep.responders} responders, every role a process, `--timeout {sweep.timeout:g}`, reqrep's "
                        "retries) healthy, with a responder killed (SIGKILL) or hung (SIGSTOP until the run ends), and "
                        "with uneven service times: `slow:P%:D` makes P% of the requests take D, `exp:M` draws each "
                        "from an exponential distribution of mean M. *Push*: the broker hands each responder its turn, "
                        "hung or busy, and a request queued behind it waits (out the timeout, when hung); *pull*: a "
                        "request goes only to a free responder. A fault strikes at a share of the requests answered, "
                        "the same place of every path's run. *× healthy* is the time over the path's healthy time, "
                        "paired per round; *lost* and *duplicated* (late replies to resent requests, dropped by the "
                        "requester) add up every round, the rest are medians. With 1% of the requests slow, p99 sits "
                        "at the edge of the slow requests on every path; p99.9, the time and the 0.5% rows show what "
                        "waiting behind them costs.",
                        [Table(["case", "path", "dispatch", "seconds", "× healthy", "retries", "lost", "duplicated",
                                "p50 (ms)", "p99 (ms)", "p99.9 (ms)", "fault (first round)"], rows)], after)]

    def cells(self, bench: Measured, path: BenchPath, options: dict) -> list[str]:
        record = self.record(bench, path, options)
        if record is None or not record.results:
            return [NOT_RUN if record is None else "failed", *[NOT_RUN] * 8]
        results = list(record.results.values())

        def middle(read) -> float:
            return statistics.median(read(result) for result in results)

        against = ratio_text(self.against_healthy(bench, path, options), 2, "×") if options else NOT_RUN
        return [f"{middle(seconds):,.2f}", against, f"{middle(lambda r: r.retries):,.0f}", f"{record.failed:,}",
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


@dataclass(frozen=True)
class Faults(Study):
    """Faults by themselves (`--retries 0`) and with reqrep's retries, which should lose nothing.
    `conditions`: run options under which every fault runs again."""

    name = "faults"
    faults: tuple[str, ...]  # --fault specs: kill, hang@2.5s ...
    windows: tuple[int, ...]  # requests in flight per requester
    conditions: tuple[Mapping[str, Any], ...] = ({},)  # further run options, each a condition of its own

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for (condition, fault, window, path), retries in product(self.each(sweep), (BY_ITSELF, WITH_RETRIES)):
            yield sweep.point(path, window=window, fault=fault, retries=retries, **condition)

    def each(self, sweep: Sweep) -> Iterator[tuple[Mapping[str, Any], str, int, BenchPath]]:
        return product(self.conditions, self.faults, self.windows, self.paths(sweep))

    def expects_loss(self, point: Point) -> bool:
        return point.option("retries") == BY_ITSELF

    def cases(self, bench: Measured) -> Iterator[tuple[str, str, str, int, Record | None, Record | None]]:
        """(condition, path, fault, window, by itself, with retries) for every case of the study."""
        for condition, fault, window, path in self.each(bench.sweep):
            alone, retried = (self.find(bench, path=path.name, window=window,
                                        options=run_options(fault=fault, retries=retries, **condition))
                              for retries in (BY_ITSELF, WITH_RETRIES))
            shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in condition.items()) or "—"
            yield shown, path.name, fault, window, alone, retried

    def summary(self, bench: Measured) -> dict:
        cases = [{"condition": condition, "path": path, "fault": fault, "window": window,
                  "by_itself": rounds(alone), "with_retries": rounds(retried)}
                 for condition, path, fault, window, alone, retried in self.cases(bench)]
        retried = [r for case in cases for r in case["with_retries"]]
        return {"nothing_lost_with_retries": all(r["lost"] == 0 for r in retried) if retried else None,
                "cases": cases}

    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if summary["nothing_lost_with_retries"] is None:
            return "Faults: not measured."
        alone = sum(r["lost"] for case in summary["cases"] for r in case["by_itself"])
        return (f"Faults: {alone:,} requests lost by themselves (no retries) over every case and round; with reqrep's "
                f"retries {'nothing lost' if summary['nothing_lost_with_retries'] else 'requests lost'}.")

    def sections(self, bench: Measured) -> list[Section]:
        several = len(self.conditions) > 1
        rows = [[*([condition] if several else []), path, fault, str(window), inflicted_at(alone or retried),
                 *(column(alone, key) for key in ("lost", "duplicated", "seconds")),
                 *(column(retried, key) for key in ("lost", "retries", "duplicated", "seconds"))]
                for condition, path, fault, window, alone, retried in self.cases(bench)]
        sweep = bench.sweep
        return [Section("Faults by themselves, and with reqrep's retries",
                        f"A responder fails mid-run ({sweep.requests:,} requests, {sweep.requesters} requesters each "
                        f"keeping *window* requests in flight, {sweep.responders} responders, every role a process, "
                        f"`--timeout {sweep.timeout:g}`). *By itself* is `--retries 0`: a request that goes unanswered "
                        "is never sent again, as with a plain client, so the requester that sent it waits out the "
                        "timeout and stops, and its requests not yet answered are lost with it. *With retries* is "
                        "reqrep's default: a request unanswered after the timeout is sent again. Each cell lists every "
                        "round.",
                        [Table([*(["condition"] if several else []), "path", "fault", "window",
                                "inflicted (first round)", "by itself: lost", "duplicated", "seconds",
                                "with retries: lost", "retries", "duplicated", "seconds"], rows)],
                        [self.verdict(bench)])]


def rounds(record: Record | None) -> list[dict]:
    """Each round's requests lost (not answered right), duplicated and resent, its seconds, and the fault."""
    if record is None:
        return []
    return [{"round": n, "lost": r.failed, "duplicated": r.duplicated, "retries": r.retries,
             "seconds": round(r.seconds, 2), "inflicted": r.fault} for n, r in sorted(record.results.items())]


def column(record: Record | None, key: str) -> str:
    found = rounds(record)
    if not found:
        return "failed" if record is not None else NOT_RUN
    return ", ".join(f"{r[key]:,.1f}" if key == "seconds" else f"{r[key]:,}" for r in found)


def inflicted_at(record: Record | None) -> str:
    found = rounds(record)
    return (found[0]["inflicted"] or "not inflicted") if found else NOT_RUN
