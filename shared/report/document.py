"""The JSON documents `reqrep run` and `reqrep compare` write with --json, and `reqrep show` reads.

A run document, "format": "reqrep-run/3":
- the run's parameters, flat, as a round has them (transport, example, concurrency, codec, workload,
  requesters, responders, window, rate ..., and the transport's own: zmq's "curve", native's
  "authkey_challenge", never a key), "requests" counted over every round; "described": the settings in the
  table's words ({row: cell});
- the headline figures, named as in a round: "answered", "ok", "failed", "duplicated", "retries", "seconds"
  and "cpu_seconds" summed over the rounds; "throughput_rps", "latency_us" (p50, p90, p99, p999, max),
  "pss_peak_mib_total" and "rss_peak_mib_total" the median of the rounds; "spread": [low, high] per median;
- "pss_peak_mib_by_kind" ({kind of role: MiB}) and "roles" (each role's pss/uss/rss_peak_mib, cpu_seconds),
  medians; "cpu_seconds_by_thread" summed, "bytes_per_request" medians; "errors", "failures",
  "fault_inflicted" of every round ("round N: " before each when several), "interrupted" if any round was;
- "stalled_rounds" and "stalls" ("round N: why"): rounds with retries and no fault, left out of the medians
  unless every round stalled;
- "rounds": each round as RunResult.to_json writes it (the bench keeps its rounds so too).

A compare document, "format": "reqrep-compare/3":
- "runs": a run document per variant; "alternated": whether the variants' rounds alternated;
- "ratios": the first variant over the first of another transport, paired round by round, and "more_ratios"
  (three variants or more): the first over each other one. Each has "numerator", "denominator", "rounds",
  "stalled_rounds" (pairs left out), and for "throughput_rps", "latency_p50_us" and "latency_p99_us":
  "median" and "geomean" of the per-round ratios; "low", "high": the 95% t-interval on the log ratios (null
  with one round); "confidence" (0.95 or null); "significant": the interval leaves out 1; "rounds": the pairs
  it stands on. "ratios" is {} when the rounds do not pair up or did not alternate.

Both carry "reqrep_version", "python", "date" (UTC, ISO 8601), "command" (`reqrep ...`) and "machine" (cores,
memory_gib, cpu_model, virtual_machine, system, kernel, the versions the figures depend on, the load average).
Memory is in MiB, times in seconds, latencies in µs (from a histogram: within 0.4% of exact).

The records in shared/report/records.py (and shared/core/results.py's Round) are this format; the JSON
Schema shared/report/schema.json is generated from them (`python -m shared.report.records`). `read` brings
older formats to them through `adapted`: version 2 has the sign test's interval (worked out again from the
rounds) and no "command" or "machine"; version 1 (no "format") holds one round.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime

from shared import __version__
from shared.core.errors import UsageError
from shared.core.records import from_json, problems
from shared.core.results import Round, RunResult
from shared.report.records import COMPARE, RUN, Comparison, Document, PairRatios, Stamp, Variant, document_schema
from shared.report.records import variants as variants  # the commands' document.variants
from shared.report.summary import headline, parameters, ratios, stalled_pairs

RUN_2, COMPARE_2 = "reqrep-run/2", "reqrep-compare/2"  # read, and brought up to date


def stamp() -> Stamp:
    return Stamp(reqrep_version=__version__, python=platform.python_version(),
                 date=datetime.now(UTC).isoformat(timespec="seconds"))


def run_document(rounds: list[Round]) -> Variant:
    """A variant's document from its rounds."""
    return Variant(parameters=parameters(rounds), headline=headline(rounds), rounds=rounds, stamp=stamp())


def compare_document(variants: list[list[Round]]) -> Comparison:
    """The variants' documents and the ratios of the first over each other, from their rounds."""
    runs = [run_document(rounds) for rounds in variants]
    pairs = pair_ratios(runs)
    return Comparison(runs=runs, alternated=True, ratios=(pairs or [None])[0], more_ratios=pairs[1:], stamp=stamp())


def pair_ratios(runs: list[Variant]) -> list[PairRatios]:
    """The first variant over each other, paired round by round: over the first of another transport first
    (zmq over native), then over the others in their order; none when the rounds do not pair up (an
    interrupted comparison)."""
    first, others = runs[0], runs[1:]
    if not others or any(len(other.rounds) != len(first.rounds) for other in others):
        return []
    lead = next((run for run in others if run.transport != first.transport), others[0])
    return [PairRatios(numerator=label(first, runs), denominator=label(other, runs), rounds=len(first.rounds),
                       stalled_rounds=stalled_pairs(first.rounds, other.rounds),
                       **{name: ratio.rounded() for name, ratio in ratios(first.rounds, other.rounds).items()})
            for other in [lead, *(run for run in others if run is not lead)]]


def label(run: Variant, runs: list[Variant] | None = None) -> str:
    """A variant's name: its transport, and its codec too when the transport appears twice (--factorial)."""
    if runs and sum(other.transport == run.transport for other in runs) > 1:
        return f"{run.transport}+{run.parameters['codec']}"
    return run.transport


def of_results(variants: list[list[RunResult]], made_by: dict | None = None) -> Document:
    """The document a command writes for its variants' results: a run's, or a comparison's; `made_by` its
    "command" and "machine" (shared/core/machine.py), so that a table says what made it, when and where."""
    rounds = [[result.round() for result in results] for results in variants]
    made = run_document(rounds[0]) if len(rounds) == 1 else compare_document(rounds)
    made.command, made.machine = (made_by or {}).get("command"), (made_by or {}).get("machine")
    return made


def side_by_side(documents: list[Document]) -> Comparison:
    """Several saved documents as one comparison of all their runs; no ratios, since their rounds did not
    alternate."""
    return Comparison(runs=[run for each in documents for run in variants(each)], alternated=False, stamp=stamp())


def load(path: str):
    """A JSON file's contents, or one sentence."""
    try:
        with open(path, encoding="utf-8") as saved:
            return json.load(saved)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{path} is not a JSON file") from None


def read(path: str) -> Document:
    """A saved document, checked, as the records of the current format."""
    data = load(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a reqrep run or compare file")
    return adapted(data, path)


def adapted(data: dict, path: str) -> Document:
    """The one adapter from every format reqrep has written to the records: version 3 as it is, version 2 with
    its compare ratios worked out again, version 1 (no "format") as documents of one round."""
    kind = data.get("format")
    if kind == RUN_2:
        data = data | {"format": RUN}
    elif kind == COMPARE_2 and isinstance(data.get("runs"), list):
        data = data | {"format": COMPARE, "runs": [run | {"format": RUN} for run in data["runs"]], "ratios": {}}
    elif kind is None and "runs" in data and all(is_round(run) for run in data["runs"]):
        return compare_document([[checked(Round, run, path)] for run in data["runs"]])
    elif kind is None and is_round(data):
        return run_document([checked(Round, data, path)])
    elif kind not in (RUN, COMPARE):
        what = f"a {kind} file" if isinstance(kind, str) else "not a reqrep run or compare file"
        raise UsageError(f"{path} is {what}: `reqrep show` reads the files of `reqrep run` and `reqrep compare` "
                         f"(--json), formats {RUN} and {COMPARE} or older")
    document = checked(Variant if data["format"] == RUN else Comparison, data, path)
    if kind == COMPARE_2 and document.alternated:
        pairs = pair_ratios(document.runs)
        document.ratios, document.more_ratios = (pairs or [None])[0], pairs[1:]
    return document


def checked(kind: type, data: dict, path: str):
    """The record of `data`, after a check against the schema: a file that is not what its format says gets
    one sentence, naming the first thing wrong."""
    shape = document_schema()
    wrong = problems(data, {"$ref": f"#/$defs/{kind.__name__}", "$defs": shape["$defs"]})
    if wrong:
        raise UsageError(f"{path} is not a readable {data.get('format', 'reqrep')} file: {wrong[0]}")
    return from_json(kind, data)


def is_round(document) -> bool:
    """Whether a version 1 object is one run's figures."""
    return isinstance(document, dict) and {"transport", "requests", "throughput_rps", "latency_us"} <= document.keys()
