"""A point (one run of the plan) and its record (what it gave, round after round), to and from JSON."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from shared.core.measure import RoleUsage
from shared.core.results import FIGURE_KEYS, Counts, RunResult
from shared.core.sizes import size_text

TEXT = "text"  # a point's payload kind: the echo workload's text, padded to payload_bytes
VALUES = "values"  # the user's own values (bench --payload)


@dataclass(frozen=True)
class Point:
    """One run of the bench: a path with its counts, further RunConfig fields as sorted (name, value) pairs,
    and its payload: text, a BENCH_VALUES kind (`ndarray`) of payload_bytes, or the user's own (VALUES)."""

    path: str
    concurrency: str
    payload_bytes: int
    window: int
    requesters: int
    responders: int
    requests: int
    options: tuple[tuple[str, Any], ...] = ()
    payload_kind: str = TEXT

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def label(self) -> str:
        shown = "".join(f", {name.replace('_', ' ')} {value}" for name, value in self.options)
        kind = f" {self.payload_kind}" if self.payload_kind != TEXT else ""
        return (f"{self.path} {self.concurrency} {size_text(self.payload_bytes)}{kind} window {self.window} "
                f"{self.requesters}×{self.responders}{shown}")

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "options": dict(self.options)}

    @classmethod
    def from_json(cls, data: dict) -> Point:
        fields = {each.name for each in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in fields} | {
            "options": run_options(**data.get("options", {}))})


def run_options(**given: Any) -> tuple[tuple[str, Any], ...]:
    """A point's further run options, leaving out those not set (None)."""
    return tuple(sorted((name, value) for name, value in given.items() if value is not None))


@dataclass
class Record:
    """What one point gave, by round: its results, and why a round gave none. Its figures are medians."""

    point: Point
    studies: list[str]
    results: dict[int, RunResult] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    codec_costs: dict[int, dict] = field(default_factory=dict)  # a point of values: codec costs, by round
    wall_seconds: float = 0.0
    cut_short: int = 0  # the round that Ctrl-C or SIGTERM stopped while it ran, if any

    @property
    def succeeded(self) -> bool:
        return bool(self.results) and not self.errors and all(result.succeeded for result in self.results.values())

    @property
    def failed(self) -> int:
        return sum(result.failed for result in self.results.values())

    @property
    def first(self) -> RunResult:
        return self.results[min(self.results)]

    @property
    def measured(self) -> list[RunResult]:
        """The rounds whose figures are a speed: those that did not stall, or all if all did."""
        return [result for result in self.results.values() if not result.stall] or list(self.results.values())

    def median(self, read: Callable[[RunResult], float]) -> float:
        return statistics.median(read(result) for result in self.measured)

    def latency(self, key: str) -> float:
        return self.median(lambda result: result.latency_us[key])

    def medians(self) -> dict:
        if not self.results:
            return {}
        return {"throughput_rps": round(self.median(lambda r: r.throughput_rps), 1),
                "latency_us": {key: self.latency(key) for key in self.first.latency_us},
                "pss_peak_mib_total": round(self.median(lambda r: r.pss_peak_mib_total), 1),
                "rss_peak_mib_total": round(self.median(lambda r: r.rss_peak_mib_total), 1)}

    def to_json(self) -> dict:
        rounds = sorted(self.results.items())
        return {**self.point.to_json(), "studies": self.studies, "succeeded": self.succeeded,
                "errors": [{"round": n, "error": error} for n, error in sorted(self.errors.items())],
                "wall_seconds": round(self.wall_seconds, 2), "cut_short": self.cut_short, "median": self.medians(),
                "stalls": [{"round": n, "stall": result.stall} for n, result in rounds if result.stall],
                "rounds": [{"round": n, **result.to_json(), "seconds": result.seconds, **self.costs_json(n)}
                           for n, result in rounds]}

    def costs_json(self, round_number: int) -> dict:
        return {"codec_costs": self.codec_costs[round_number]} if round_number in self.codec_costs else {}

    @classmethod
    def from_json(cls, data: dict) -> Record:
        rounds = data["rounds"]
        return cls(Point.from_json(data), list(data["studies"]), {each["round"]: result_of(each) for each in rounds},
                   {each["round"]: each["error"] for each in data["errors"]},
                   {each["round"]: each["codec_costs"] for each in rounds if "codec_costs" in each},
                   data["wall_seconds"], data.get("cut_short", 0))


def result_of(saved: dict) -> RunResult:
    """A round of results.json as the RunResult it was."""
    parameters = {key: value for key, value in saved.items() if key not in FIGURE_KEYS | {"round", "codec_costs"}}
    return RunResult(parameters=parameters | {"payload_bytes": saved.get("payload_bytes", 0)},
                     **{each.name: saved[each.name] for each in fields(Counts)}, latency_us=saved["latency_us"],
                     roles=[RoleUsage(**role) for role in saved["roles"]], errors=saved["errors"],
                     failures=saved["failures"], interrupted=saved["interrupted"],
                     rss_timeline=[tuple(each) for each in saved["rss_timeline_mib"]],
                     pss_timeline=[tuple(each) for each in saved["pss_timeline_mib"]],
                     bytes_per_request=saved["bytes_per_request"], thread_cpu=saved["cpu_seconds_by_thread"],
                     fault=saved["fault_inflicted"])
