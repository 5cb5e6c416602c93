"""Faults by themselves: what each path loses when a responder fails mid-run with `--retries 0`, and with
reqrep's retries, which should lose nothing. `conditions`: run options under which every fault runs again."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared.bench.point import Point, Record, run_options
from shared.bench.reading import NOT_RUN, find, markdown_table, records_of
from shared.bench.study import Measured, Study, Sweep

BY_ITSELF = 0  # retries: a request that goes unanswered is never sent again


@dataclass(frozen=True)
class Faults(Study):
    name = "faults"
    faults: tuple[str, ...]  # --fault specs: kill, hang@2.5s ...
    windows: tuple[int, ...]  # requests in flight per requester
    conditions: tuple[Mapping[str, Any], ...] = ({},)  # further run options, each a condition of its own

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for condition in self.conditions:
            for fault in self.faults:
                for window in self.windows:
                    for path in self.paths(sweep):
                        for retries in (BY_ITSELF, None):  # None: reqrep's default
                            yield sweep.point(path, window=window, fault=fault, retries=retries, **condition)

    def expects_loss(self, point: Point) -> bool:
        return point.option("retries") == BY_ITSELF

    def cases(self, bench: Measured) -> Iterator[tuple[str, str, str, int, Record | None, Record | None]]:
        """(condition, path, fault, window, by itself, with retries) for every case of the study."""
        records = records_of(bench, self)
        for condition in self.conditions:
            for fault in self.faults:
                for window in self.windows:
                    for path in self.paths(bench.sweep):
                        alone, retried = (find(records, path=path.name, window=window,
                                               options=run_options(fault=fault, retries=retries, **condition))
                                          for retries in (BY_ITSELF, None))
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

    def section(self, bench: Measured) -> list[str]:
        rows = [[*([condition] if len(self.conditions) > 1 else []), path, fault, str(window),
                 inflicted_at(alone or retried), column(alone, "lost"), column(alone, "duplicated"),
                 column(alone, "seconds"), column(retried, "lost"), column(retried, "retries"),
                 column(retried, "duplicated"), column(retried, "seconds")]
                for condition, path, fault, window, alone, retried in self.cases(bench)]
        sweep = bench.sweep
        return ["## Faults by themselves, and with reqrep's retries", "",
                f"A responder fails mid-run ({sweep.requests:,} requests, {sweep.requesters} requesters each keeping "
                f"*window* requests in flight, {sweep.responders} responders, every role a process, "
                f"`--timeout {sweep.timeout:g}`). *By itself* is `--retries 0`: a request that goes unanswered is "
                "never sent again, as with a plain client, so the requester that sent it waits out the timeout and "
                "stops, and its requests not yet answered are lost with it. *With retries* is reqrep's default: "
                "a request unanswered after the timeout is sent again. Each cell lists every round.", "",
                *markdown_table([*(["condition"] if len(self.conditions) > 1 else []), "path", "fault", "window",
                                 "inflicted (first round)", "by itself: lost", "duplicated", "seconds",
                                 "with retries: lost", "retries", "duplicated", "seconds"], rows),
                self.verdict(bench), ""]


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
