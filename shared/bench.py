"""`reqrep bench`: run a sweep (shared/sweep.py), point after point, each a real run on free loopback ports in a
process of its own; go on past a point that loses requests; keep the records that become results.json (format
documented in the README).

The transports arrive as a dict from the command line: this module never names them.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from shared.config import START_DEADLINE, RunConfig
from shared.machine import machine_facts
from shared.results import RunResult
from shared.run import run
from shared.supervisor import Supervisor, Terminated
from shared.sweep import Point, Sweep, plan
from shared.transport import Transport

FORMAT = "reqrep-bench/1"
POINT_ROLE = "bench point"
# A backstop only: run() itself abandons a run that makes no progress for START_DEADLINE + timeout seconds.
RUN_ALLOWANCE = 300.0


def point_config(sweep: Sweep, point: Point, transports: Mapping[str, Transport]) -> RunConfig:
    """The point's configuration; its ports and keys are chosen in the point's own process."""
    path = sweep.path(point.path)
    transport = transports[path.transport]
    settings = dataclasses.replace(transport.settings_type(), **path.settings)
    return RunConfig(transport=transport, codec=path.codec, requests=point.requests, requesters=point.requesters,
                     responders=point.responders, concurrency=point.concurrency, timeout=sweep.timeout,
                     window=point.window, payload_bytes=point.payload_bytes, settings=settings)


@dataclass
class Record:
    """What one point gave, round after round: its runs' results, and why a round gave none. A figure of the
    point is the median over its rounds, so that one noisy minute on a shared machine does not decide it."""

    point: Point
    studies: list[str]
    results: list[RunResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return bool(self.results) and not self.errors and all(result.succeeded for result in self.results)

    @property
    def failed(self) -> int:
        return sum(result.failed for result in self.results)

    def median(self, read: Callable[[RunResult], float]) -> float:
        return statistics.median(read(result) for result in self.results)

    def latency(self, key: str) -> float:
        return statistics.median(result.latency_us[key] for result in self.results)

    def medians(self) -> dict:
        if not self.results:
            return {}
        return {"throughput_rps": round(self.median(lambda r: r.throughput_rps), 1),
                "latency_us": {key: self.latency(key) for key in self.results[0].latency_us},
                "rss_peak_mib_total": round(self.median(lambda r: r.rss_peak_mib_total), 1)}

    def to_json(self) -> dict:
        return {**asdict(self.point), "studies": self.studies,
                "succeeded": self.succeeded, "errors": self.errors, "wall_seconds": round(self.wall_seconds, 2),
                "median": self.medians(), "rounds": [result.to_json() for result in self.results]}


def measure_point(config: RunConfig, answered) -> RunResult:
    """In the point's own process: the run on free loopback ports, with its progress where the sweep's loop
    can read it."""

    def progress(done: int, planned: int) -> None:
        answered[0] = done

    with config.transport.loopback(config) as local:
        return run(local, progress=progress)


def run_point(record: Record, config: RunConfig, progress: Callable[[float], None]) -> None:
    """One point in a forked process, so that its memory figures start from the same small parent every
    time (a thread run, or a forked role, would otherwise inherit what the points before it left behind)."""
    began = time.monotonic()
    deadline = began + 2 * START_DEADLINE + config.timeout * config.attempts + RUN_ALLOWANCE
    with Supervisor("processes") as roles:
        answered = roles.counters(1)
        roles.start(POINT_ROLE, measure_point, config, answered)

        def tick(now: float) -> None:
            progress(min(answered[0] / config.requests, 1.0))
            if now > deadline:
                roles.give_up(POINT_ROLE, f"no result within {deadline - began:.0f} s")

        report = next(roles.watch([POINT_ROLE], tick))
    record.wall_seconds += time.monotonic() - began
    (record.errors if report.failed else record.results).append(report.error if report.failed else report.result)


SweepProgress = Callable[[float, str], None]  # (point runs done, fractions included; what runs now)


@dataclass
class Bench:
    """A sweep under way: its plan, the records so far, where and when it ran."""

    sweep: Sweep
    plan: dict[Point, list[str]] = field(init=False)
    records: dict[Point, Record] = field(default_factory=dict)
    runs: int = 0  # point runs done, over all rounds
    machine: dict = field(default_factory=dict)
    date: str = ""
    seconds: float = 0.0
    interrupted: bool = False

    def __post_init__(self) -> None:
        self.plan = plan(self.sweep)

    @property
    def planned(self) -> int:
        return len(self.plan) * self.sweep.rounds

    @property
    def lost(self) -> list[Record]:
        return [record for record in self.records.values() if not record.succeeded]

    def run(self, transports: Mapping[str, Transport], progress: SweepProgress | None = None) -> None:
        """Every point, round after round (a whole pass each, so that a point's rounds are minutes apart).
        Ctrl-C or SIGTERM stops the point under way (its roles with it), marks the bench interrupted and goes
        on up to the caller, who still writes what was measured."""
        self.machine, self.date = machine_facts(transports.values()), datetime.now(UTC).isoformat(timespec="seconds")
        began = time.monotonic()
        rounds = self.sweep.rounds
        try:
            for round_number in range(1, rounds + 1):
                for point, studies in self.plan.items():
                    label = point.label() + (f", round {round_number} of {rounds}" if rounds > 1 else "")

                    def advance(fraction: float, done: int = self.runs, label: str = label) -> None:
                        if progress is not None:
                            progress(done + fraction, label)

                    record = self.records.setdefault(point, Record(point, studies))
                    advance(0.0)
                    run_point(record, point_config(self.sweep, point, transports), advance)
                    self.runs += 1
                    advance(1.0)
        except (KeyboardInterrupt, Terminated):
            self.interrupted = True
            raise
        finally:
            self.seconds = time.monotonic() - began

    def to_json(self) -> dict:
        return {"format": FORMAT, "date": self.date, "seconds": round(self.seconds, 1),
                "interrupted": self.interrupted, "machine": self.machine, "sweep": self.sweep.parameters(),
                "points_planned": len(self.plan), "runs_planned": self.planned, "runs": self.runs,
                "lost": len(self.lost), "points": [record.to_json() for record in self.records.values()]}
