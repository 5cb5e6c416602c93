"""`reqrep bench`: run a preset's plan (shared/bench/sweep.py), point after point, each a real run on free loopback
ports in a process of its own; go on past a point that loses requests; keep the records that become
results.json.

results.json is one object:
- "format" ("reqrep-bench/6"), "date" (UTC, when the bench began), "seconds" (how long it took),
  "interrupted" (Ctrl-C or SIGTERM stopped it; what was measured until then is all there);
- "machine": cores, memory_gib, cpu_model, virtual_machine, system, kernel, python, the versions of what the
  figures depend on, and the load average when the bench began (shared/core/machine.py);
- "transports": by name, the transport's "title" and "server_role", which the report repeats;
- "sweep": the preset and its parameters (Sweep.parameters): requests per point, rounds, timeout, counts, the
  concurrency modes, each study with its own parameters, the payload file and its values' names, and per path
  every BenchPath field: transport, codec, settings, window, description, stalls_above, studies, pushes, batches;
- "points_planned", "runs_planned" (points x rounds), "runs" (done), "lost" (points that lost requests they
  were not meant to lose);
- "studies": each study's figures and verdicts by name (Study.summary), what its report section says; a study
  with a target gives its "target", "met" (by every path it judged; null with none measured) and, per path it
  judged, whether that path met it; one that judges only some paths (stalls: lockstep paths that do not stall)
  gives "judged" ({path and mode: ratio, met}) and "not_judged" ({path: why});
- "points": a record per point: what ran (path, concurrency, payload_bytes, payload_kind, window, requesters,
  responders, requests, options), the studies it serves, "succeeded", "errors" ({round, error}: a round
  that gave no result), "wall_seconds", "cut_short" (the round Ctrl-C stopped under way, or 0), "median" (over
  the rounds: throughput_rps, each latency_us percentile, pss_peak_mib_total, and rss_peak_mib_total, the
  resident sizes summed; the rounds that stalled left out, unless all did), "stalls" ({round, stall}: a round
  with retries and no fault inflicted, see shared.core.results.stall_of), and "rounds": each round's whole
  result in the format of a round of `reqrep run --json` (shared/report/document.py), with its "round", its
  "seconds" unrounded (the report renders its figures again from them) and, for a point of values, its
  "codec_costs".
A ratio paired per round is an interval (shared/report/statistics.py, Interval.to_json): "rounds", "median",
"geomean", "low", "high" (the 95% interval, null with one round), "significant", "confidence".

report.md, the console's lines and the plots are rendered from this document alone (`read`, then
shared/bench/report.py), by `reqrep bench` and by `reqrep show results.json` alike. The transports arrive as a
dict from the command line: this module never names them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.bench.codec_cost import codec_costs
from shared.bench.point import TEXT, VALUES, Point, Record
from shared.bench.study import Measured, Sweep, plan
from shared.bench.sweep import PRESETS, STUDIES
from shared.core.bench_paths import BenchPath
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.errors import UsageError
from shared.core.machine import machine_facts
from shared.core.results import RunResult
from shared.core.run import run
from shared.core.supervisor import Supervisor, Terminated
from shared.core.transport import Transport
from shared.semantics.values import BENCH_VALUES, Payload, refusals

# results.json format history:
# - reqrep-bench/1: the sweep (its payload, window and counts studies); a point's rounds as a list.
# - reqrep-bench/2: studies. `sweep.studies` lists the preset's studies with their parameters, `studies` holds
#   each study's figures by name; a point's `options` (its run options beyond the counts: retries, fault,
#   record_latency, delay_ms ...); each round's record carries its `round`, and `errors` are {round, error}.
# - reqrep-bench/3: a point's `payload_kind`: "text" (the echo text padded to `payload_bytes`) or "ndarray"
#   (one float64 array of `payload_bytes`, sent as a --payload run sends values); each round of a point of
#   values carries `codec_costs` (shared/bench/codec_cost.py, measured in the point's process once its run has
#   ended).
# - reqrep-bench/4: the payload kind "values", the user's own (`--payload`, the values preset), whose
#   `payload_bytes` is only about their size; `sweep.payload` names the file, `sweep.left_out` gives, by path,
#   why a path whose codec cannot carry them was left out; a point's "median" adds "pss_peak_mib_total".
# - reqrep-bench/5: a point's "stalls" ({round, stall}); its "median" leaves the stalled rounds out, unless
#   every round stalled.
# - reqrep-bench/6: per-path verdicts: the stalls study's "ratios" become "judged" ({path and mode: ratio,
#   met}, lockstep paths that do not stall) and "not_judged" ({path: why}); the recording and soak studies'
#   "paths" each add "met".
# - reqrep-bench/7: "transports" (title, server role); every BenchPath field under `sweep.paths`;
#   `sweep.payload_values`; a point's "cut_short"; a round's "seconds" unrounded; the studies' paired ratios
#   become intervals (Interval.to_json) in place of lists of per-round ratios. Version 6 is read through
#   `upgrade`.
FORMAT = "reqrep-bench/7"
PREVIOUS = "reqrep-bench/6"
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
class Bench(Measured):
    """A sweep under way: its plan, and what it measured so far."""

    plan: dict[Point, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.plan = plan(self.sweep)
        self.points_planned = len(self.plan)

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
        self.transports = facts(transports)
        began, rounds = time.monotonic(), self.sweep.rounds
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


def facts(transports: Mapping[str, Transport]) -> dict[str, dict]:
    """What the report says of each transport, in its own words."""
    return {name: {"title": each.title, "server_role": each.server_role} for name, each in transports.items()}


# ---- results.json ------------------------------------------------------------------------------------------
def document(bench: Measured) -> dict:
    """results.json: what was measured, each study's summary beside it."""
    return {"format": FORMAT, "date": bench.date, "seconds": round(bench.seconds, 1),
            "interrupted": bench.interrupted, "machine": bench.machine, "transports": bench.transports,
            "sweep": bench.sweep.parameters(), "points_planned": bench.points_planned, "runs_planned": bench.planned,
            "runs": bench.runs, "lost": len(bench.lost),
            "studies": {study.name: study.summary(bench) for study in bench.sweep.studies},
            "points": [record.to_json() for record in bench.records.values()]}


def read(path: str, transports: Mapping[str, Transport]) -> tuple[dict, Measured]:
    """A saved results.json in the current format (an older one upgraded), and what it measured; or one
    sentence."""
    try:
        with open(path, encoding="utf-8") as saved:
            found = json.load(saved)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{path} is not a JSON file") from None
    kind = found.get("format") if isinstance(found, dict) else None
    if kind not in (FORMAT, PREVIOUS):
        what = f"a {kind} file" if isinstance(kind, str) else "not a bench file"
        raise UsageError(f"{path} is {what}: `reqrep show` reads the results.json of `reqrep bench` in formats "
                         f"{FORMAT} and {PREVIOUS}")
    data = found if kind == FORMAT else upgrade(found, transports)
    try:
        return data, measured_of(data)
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"{path} is a damaged bench file: {type(error).__name__} {error}") from None


def measured_of(data: dict) -> Measured:
    """What a results.json of the current format measured."""
    given = data["sweep"]
    paths = tuple(BenchPath(name, **fields | {"studies": tuple(fields["studies"])})
                  for name, fields in given["paths"].items())
    studies = tuple(STUDIES[each["study"]](**{key: tupled(value) for key, value in each.items() if key != "study"})
                    for each in given["studies"])
    payload = Payload(given["payload"], tuple(given["payload_values"]), ()) if given["payload"] else None
    preset = PRESETS.get(given["preset"])
    sweep = Sweep(given["preset"], preset.description if preset else "", studies, given["requests"],
                  given["stall_requests"], given["rounds"], given["timeout"], given["requesters"],
                  given["responders"], given["reference_payload"], paths, tuple(given["concurrency"]), payload,
                  tuple((name, tuple(why)) for name, why in given["left_out"].items()))
    records = [Record.from_json(point) for point in data["points"]]
    return Measured(sweep, {record.point: record for record in records}, data["points_planned"], data["runs"],
                    data["machine"], data["transports"], data["date"], data["seconds"], data["interrupted"])


def tupled(value: Any) -> Any:
    """A study's parameter as its dataclass holds it: JSON's lists as tuples."""
    if isinstance(value, list):
        return tuple(tupled(each) for each in value)
    return {key: tupled(each) for key, each in value.items()} if isinstance(value, dict) else value


def upgrade(old: dict, transports: Mapping[str, Transport]) -> dict:
    """A reqrep-bench/6 document as version 7: the transports' words and the paths' fields it lacks from the
    transports known here (a path they do not know keeps BenchPath's defaults), no point cut short. Its studies'
    summaries stay as they were: the report is rendered from the points."""
    known = {path.name: path for each in transports.values() for path in each.bench_paths}
    paths = {}
    for name, fields in old["sweep"]["paths"].items():
        path = known.get(name) or BenchPath(name, fields["transport"], fields["codec"])
        paths[name] = {"stalls_above": path.stalls_above, "studies": list(path.studies), "pushes": path.pushes,
                       "batches": path.batches} | fields
    used = {fields["transport"] for fields in paths.values()}
    words = {name: words for name, words in facts(transports).items() if name in used}
    names = old.get("studies", {}).get("values", {}).get("values", [])
    return old | {"format": FORMAT, "transports": words,
                  "sweep": old["sweep"] | {"paths": paths, "payload_values": names}}
