"""`reqrep bench`: run a preset's plan point after point, each a real run on loopback in a process of its own,
past a point that loses requests; write and read results.json.

results.json is one object:
- "format", "date" (UTC, start), "seconds", "interrupted" (Ctrl-C or SIGTERM; what was measured is all there);
- "machine" (shared/core/machine.py); "transports": by name, its "title" and "server_role";
- "sweep": Sweep.parameters(): the counts, rounds, timeout, concurrency modes, each study's parameters, the
  payload file and its values' names, and every BenchPath field per path;
- "points_planned", "runs_planned" (points x rounds), "runs" (done), "lost" (points that lost requests);
- "studies": Study.summary() by name; a study with a target gives "target", "met" (null with none measured)
  and, per path, whether it met it, or "judged" ({path and mode: ratio, met}) and "not_judged" ({path: why});
- "points": per point, what ran (path, concurrency, payload_bytes, payload_kind, window, requesters,
  responders, requests, options), its "studies", "succeeded", "errors" ({round, error}), "wall_seconds",
  "cut_short" (the round stopped under way, or 0), "median" (throughput_rps, latency_us percentiles,
  pss/rss_peak_mib_total; stalled rounds left out unless all stalled), "stalls" ({round, stall}) and "rounds":
  each a round of `reqrep run --json` with "round", "seconds" unrounded and, for values, "codec_costs".
A paired ratio is an Interval.to_json(): "rounds", "median", "geomean", "low", "high" (95%, null with one
round), "significant", "confidence". report.md, the console's lines and the plots are rendered from this
document alone, by `reqrep bench` and `reqrep show results.json` alike.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
from shared.report.document import load
from shared.semantics.values import BENCH_VALUES, Payload, refusals

# Version 6 lacks "transports", paths' full fields, "payload_values", "cut_short" and intervals: `upgrade`.
FORMAT = "reqrep-bench/7"
PREVIOUS = "reqrep-bench/6"
POINT_ROLE = "bench point"
RUN_ALLOWANCE = 300.0  # a backstop: run() itself abandons a run with no progress
SLOWEST_RATE = 200.0  # requests/s below which a long point is abandoned
CODEC_BUDGET = 0.05  # seconds per codec figure, about: hundreds of calls at 1 KiB, a handful at 8 MiB
LEAST_CALLS = 5


def point_config(sweep: Sweep, point: Point, transports: Mapping[str, Transport]) -> RunConfig:
    """The point's configuration; its ports and keys are chosen in the point's own process."""
    path = sweep.path(point.path)
    transport = transports[path.transport]
    settings = dataclasses.replace(transport.settings_type(), **path.settings)
    fields = {"timeout": sweep.timeout, "one_hop": path.one_hop, **dict(point.options)}
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
    """The sweep without the paths whose codec cannot carry the user's values, each with the check's reasons;
    a payload that no path carries is a usage error."""
    valued = {point.path: point for point in plan(sweep) if point.payload_kind == VALUES}
    left_out = {name: tuple(found) for name, point in valued.items()
                if (found := refusals(point_config(sweep, point, transports), None))}
    if valued and len(left_out) == len(valued):
        sentences = [f"{name}: {why}" for name, reasons in left_out.items() for why in reasons]
        raise UsageError("the payload cannot travel on any path of the bench:\n  " + "\n  ".join(sentences))
    return dataclasses.replace(sweep, paths=tuple(path for path in sweep.paths if path.name not in left_out),
                               left_out=tuple(left_out.items()))


def median_us(call: Callable[[], object], budget: float = CODEC_BUDGET) -> float:
    """The median time of repeated calls, µs: as many as fit in `budget`, and at least LEAST_CALLS."""
    times: list[int] = []
    deadline = time.perf_counter() + budget
    while len(times) < LEAST_CALLS or time.perf_counter() < deadline:
        began = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - began)
    return round(statistics.median(times) / 1000, 2)


def codec_costs(config: RunConfig) -> dict:
    """For the payload's first value on one connection: the median µs to encode, decode and copy it once
    encoded; its encoded size, and the codec passes of a round trip."""
    codec = config.transport.payload_codec(config)
    value = config.payload.values[0]
    encoded = codec.encode(value)
    return {"encoded_bytes": len(encoded), "passes": config.transport.codec_passes,
            "encode_us": median_us(lambda: codec.encode(value)), "decode_us": median_us(lambda: codec.decode(encoded)),
            "copy_us": median_us(lambda: bytearray(encoded))}


def measure_point(config: RunConfig, answered) -> tuple[RunResult, dict]:
    """In the point's own process: the run, its progress in `answered`; then, for values, codec costs."""

    def progress(done: int, planned: int) -> None:
        answered[0] = done

    with config.transport.loopback(config) as local:
        result = run(local, progress=progress)
        return result, codec_costs(local) if config.payload is not None and result.succeeded else {}


def run_point(record: Record, round_number: int, config: RunConfig, progress: Callable[[float], None]) -> None:
    """One point in a forked process, so that its memory figures start from the same small parent."""
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
        """Forwards, then backwards: a drifting machine touches the first points and the last alike."""
        points = list(self.plan.items())
        return points if round_number % 2 else points[::-1]

    def run(self, transports: Mapping[str, Transport], progress: SweepProgress | None = None) -> None:
        """Every point, round after round. Ctrl-C or SIGTERM stops the point under way, marks the bench
        interrupted and goes on up to the caller, who still writes what was measured."""
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
                        record.cut_short = round_number  # stopped under way: not a loss
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
    """A saved results.json in the current format (version 6 upgraded), and what it measured."""
    found = load(path)
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
    """A version 6 document as version 7, the missing fields from the transports known here (else defaults);
    the studies' summaries stay as they were: the report is rendered from the points."""
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
