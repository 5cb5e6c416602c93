"""`reqrep bench`: run a preset's plan (shared/bench/sweep.py), point after point, each a real run on free loopback
ports in a process of its own; go on past a point that loses requests; keep the records that become
results.json.

results.json is one object:
- "format" ("reqrep-bench/6"), "date" (UTC, when the bench began), "seconds" (how long it took),
  "interrupted" (Ctrl-C or SIGTERM stopped it; what was measured until then is all there);
- "machine": cores, memory_gib, cpu_model, virtual_machine, system, kernel, python, the versions of what the
  figures depend on, and the load average when the bench began (shared/core/machine.py);
- "sweep": the preset and its parameters (Sweep.parameters): requests per point, rounds, timeout, counts, the
  concurrency modes, each study with its own parameters, and per path its transport, codec, settings, window
  and description;
- "points_planned", "runs_planned" (points x rounds), "runs" (done), "lost" (points that lost requests they
  were not meant to lose);
- "studies": each study's figures and verdicts by name (Study.summary), what its report section says; a study
  with a target gives its "target", "met" (by every path it judged; null with none measured) and, per path it
  judged, whether that path met it; one that judges only some paths (stalls: lockstep paths that do not stall)
  gives "judged" ({path and mode: ratio, met}) and "not_judged" ({path: why});
- "points": a record per point: what ran (path, concurrency, payload_bytes, payload_kind, window, requesters,
  responders, requests, options), the studies it serves, "succeeded", "errors" ({round, error}: a round
  that gave no result), "wall_seconds", "median" (over the rounds: throughput_rps, each latency_us
  percentile, pss_peak_mib_total, and rss_peak_mib_total, the resident sizes summed; the rounds that stalled
  left out, unless all did), "stalls" ({round, stall}: a round with retries and no fault inflicted, see
  shared.core.results.stall_of), and "rounds": each
  round's whole result in the format of a round of `reqrep run --json` (shared/report/document.py), with its
  "round" and, for a point of values, its "codec_costs".

The transports arrive as a dict from the command line: this module never names them.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.bench.codec_cost import codec_costs
from shared.bench.study import TEXT, VALUES, Point, Study
from shared.bench.sweep import Sweep, plan
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.errors import UsageError
from shared.core.machine import machine_facts
from shared.core.results import RunResult
from shared.core.run import run
from shared.core.supervisor import Supervisor, Terminated
from shared.core.transport import Transport
from shared.semantics.values import BENCH_VALUES, refusals

# results.json format history:
# - reqrep-bench/1: the sweep (its payload, window and counts studies); a point's rounds as a list.
# - reqrep-bench/2: studies. `sweep.studies` lists the preset's studies with their parameters, `studies` holds
#   each study's figures by name; a point's `options` (its run options beyond the counts: retries, fault,
#   record_latency, delay_ms ...); each round's record carries its `round`, and `errors` are {round, error}.
# - reqrep-bench/3: a point's `payload_kind`: "text" (the echo text padded to `payload_bytes`) or "ndarray" (one
#   float64 array of `payload_bytes`, sent as a --payload run sends values); each round of a point of values
#   carries `codec_costs` (shared/bench/codec_cost.py, measured in the point's process once its run has ended).
# - reqrep-bench/4: the payload kind "values", the user's own (`--payload`, the values preset), whose
#   `payload_bytes` is only about their size; `sweep.payload` names the file, `sweep.left_out` gives, by path,
#   why a path whose codec cannot carry them was left out; a point's "median" adds "pss_peak_mib_total".
# - reqrep-bench/5: a point's "stalls" ({round, stall}); its "median" leaves the stalled rounds out, unless
#   every round stalled.
# - reqrep-bench/6: per-path verdicts: the stalls study's "ratios" become "judged" ({path and mode: ratio, met},
#   lockstep paths that do not stall) and "not_judged" ({path: why}); the recording and soak studies' "paths"
#   each add "met".
FORMAT = "reqrep-bench/6"
POINT_ROLE = "bench point"
# A backstop only: run() itself abandons a run that makes no progress for START_DEADLINE + timeout seconds.
RUN_ALLOWANCE = 300.0
SLOWEST_RATE = 200.0  # requests per second below which a long point is abandoned (a soak, a thousand requesters)


def point_config(sweep: Sweep, point: Point, transports: Mapping[str, Transport]) -> RunConfig:
    """The point's configuration; its ports and keys are chosen in the point's own process."""
    path = sweep.path(point.path)
    transport = transports[path.transport]
    settings = dataclasses.replace(transport.settings_type(), **path.settings)
    fields = {"timeout": sweep.timeout, **dict(point.options)}
    if point.payload_kind == TEXT:
        fields["payload_bytes"] = point.payload_bytes
    elif point.payload_kind == VALUES:
        fields["payload"] = sweep.payload
    else:
        fields["payload"] = BENCH_VALUES[point.payload_kind](point.payload_bytes)
    return RunConfig(transport=transport, codec=path.codec, requests=point.requests, requesters=point.requesters,
                     responders=point.responders, window=point.window, concurrency=point.concurrency,
                     settings=settings, **fields)


def leave_out(sweep: Sweep, transports: Mapping[str, Transport]) -> Sweep:
    """The sweep without the paths whose codec cannot carry every one of the user's values unchanged, each
    with the check's sentences (as `reqrep run --payload` refuses them), before any point starts; a payload
    that no path carries is the user's to fix."""
    valued = {point.path: point for point in plan(sweep) if point.payload_kind == VALUES}
    left_out = {name: tuple(found) for name, point in valued.items()
                if (found := refusals(point_config(sweep, point, transports), None))}
    if valued and len(left_out) == len(valued):
        sentences = [f"{name}: {why}" for name, reasons in left_out.items() for why in reasons]
        raise UsageError("the payload cannot travel on any path of the bench:\n  " + "\n  ".join(sentences))
    return dataclasses.replace(sweep, paths=tuple(path for path in sweep.paths if path.name not in left_out),
                               left_out=tuple(left_out.items()))


@dataclass
class Record:
    """What one point gave, round after round: its runs' results, and why a round gave none, by round number.
    A figure of the point is the median over its rounds, so that one noisy minute on a shared machine does not
    decide it."""

    point: Point
    studies: list[str]
    results: dict[int, RunResult] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    codec_costs: dict[int, dict] = field(default_factory=dict)  # a point of values: its codec's costs, by round
    wall_seconds: float = 0.0
    cut_short: int = 0  # the round that Ctrl-C or SIGTERM stopped while it ran, if any: no loss of its own

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
        return {**self.point.to_json(), "studies": self.studies, "succeeded": self.succeeded,
                "errors": [{"round": n, "error": error} for n, error in sorted(self.errors.items())],
                "wall_seconds": round(self.wall_seconds, 2), "median": self.medians(),
                "stalls": [{"round": n, "stall": result.stall} for n, result in sorted(self.results.items())
                           if result.stall],
                "rounds": [{"round": n, **result.to_json(), **self.costs_json(n)}
                           for n, result in sorted(self.results.items())]}

    def costs_json(self, round_number: int) -> dict:
        return {"codec_costs": self.codec_costs[round_number]} if round_number in self.codec_costs else {}


def measure_point(config: RunConfig, answered) -> tuple[RunResult, dict]:
    """In the point's own process: the run on free loopback ports, with its progress where the sweep's loop
    can read it; then, for a point of values, what they cost the codec here (once the run's roles are gone)."""

    def progress(done: int, planned: int) -> None:
        answered[0] = done

    with config.transport.loopback(config) as local:
        result = run(local, progress=progress)
        return result, codec_costs(local) if config.payload is not None and result.succeeded else {}


def run_point(record: Record, round_number: int, config: RunConfig, progress: Callable[[float], None]) -> None:
    """One point in a forked process, so that its memory figures start from the same small parent every
    time (a thread run, or a forked role, would otherwise inherit what the points before it left behind)."""
    began = time.monotonic()
    allowance = RUN_ALLOWANCE + config.requests / SLOWEST_RATE
    deadline = began + 2 * START_DEADLINE + config.timeout * config.attempts + allowance
    with Supervisor("processes") as roles:
        answered = roles.counters(1)
        roles.start(POINT_ROLE, measure_point, config, answered)

        def tick(now: float) -> None:
            progress(min(answered[0] / config.requests, 1.0))
            if now > deadline:
                roles.give_up(POINT_ROLE, f"no result within {deadline - began:.0f} s")

        report = next(roles.watch([POINT_ROLE], tick))
    record.wall_seconds += time.monotonic() - began
    if report.failed:
        record.errors[round_number] = report.error
        return
    record.results[round_number], costs = report.result
    if costs:
        record.codec_costs[round_number] = costs


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
    def studies(self) -> dict[str, Study]:
        return {study.name: study for study in self.sweep.studies}

    def meant_to_lose(self, record: Record) -> bool:
        return any(self.studies[name].expects_loss(record.point) for name in record.studies)

    @property
    def lost(self) -> list[Record]:
        """The points that failed: a round that gave no result, or requests lost that were not meant to be."""
        return [record for record in self.records.values() if record.errors
                or (not record.results and not record.cut_short)
                or (record.results and not (record.succeeded or self.meant_to_lose(record)))]

    @property
    def cut_short(self) -> list[Record]:
        return [record for record in self.records.values() if record.cut_short]

    def order(self, round_number: int) -> list[tuple[Point, list[str]]]:
        """The plan as round `round_number` runs it: forwards, then backwards, and so on, so that a machine
        getting busier or quieter over a bench touches the first points and the last alike, and two points
        compared side by side (recording on and off) run in turn first."""
        points = list(self.plan.items())
        return points if round_number % 2 else points[::-1]

    def run(self, transports: Mapping[str, Transport], progress: SweepProgress | None = None) -> None:
        """Every point, round after round (a whole pass each, so that a point's rounds are minutes apart).
        Ctrl-C or SIGTERM stops the point under way (its roles with it), marks the bench interrupted and goes
        on up to the caller, who still writes what was measured."""
        self.machine, self.date = machine_facts(transports.values()), datetime.now(UTC).isoformat(timespec="seconds")
        began = time.monotonic()
        rounds = self.sweep.rounds
        try:
            for round_number in range(1, rounds + 1):
                for point, studies in self.order(round_number):
                    label = point.label() + (f", round {round_number} of {rounds}" if rounds > 1 else "")

                    def advance(fraction: float, done: int = self.runs, label: str = label) -> None:
                        if progress is not None:
                            progress(done + fraction, label)

                    record = self.records.setdefault(point, Record(point, studies))
                    advance(0.0)
                    try:
                        run_point(record, round_number, point_config(self.sweep, point, transports), advance)
                    except (KeyboardInterrupt, Terminated):
                        record.cut_short = round_number  # stopped under way: not a loss of the point's
                        raise
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
                "lost": len(self.lost), "studies": {study.name: study.summary(self) for study in self.sweep.studies},
                "points": [record.to_json() for record in self.records.values()]}
