"""reqrep's JSON documents: what `reqrep run` and `reqrep compare` write with --json, and what `reqrep show`
reads back. One format for both, versioned.

A run document, "format": "reqrep-run/3":
- the run's parameters, flat, as a round has them (transport, example, concurrency, codec, workload,
  requesters, responders, window, rate ..., and the transport's own: zmq's "curve", native's
  "authkey_challenge", the HMAC digest, never the key), but "requests" is the number in all, over every round;
  "described": the transport's settings in the table's words ({row: cell}, "security" among them), which
  `reqrep show` works out again from the parameters ("not recorded" for one a file is older than);
- the headline figures, flat and named as in a round: "answered", "ok", "failed", "duplicated", "retries",
  "seconds" and "cpu_seconds" summed over the rounds; "throughput_rps", each of "latency_us" (p50, p90, p99,
  p999, max), "pss_peak_mib_total" and "rss_peak_mib_total" the median of the rounds;
- "spread": the lowest and highest round of each median figure, [low, high];
- "pss_peak_mib_by_kind": {kind of role: PSS MiB, its processes summed}, median of the rounds; "roles": each
  role's median "pss_peak_mib", "uss_peak_mib", "rss_peak_mib" and "cpu_seconds";
- "cpu_seconds_by_thread" summed, "bytes_per_request" medians, "errors", "failures" and "fault_inflicted"
  of every round (prefixed "round N: " when there are several), "interrupted" if any round was;
- "stalled_rounds": how many rounds had retries with no fault inflicted, and "stalls", why each ("round N:
  ..."); the medians and spreads leave those rounds out, unless every round stalled;
- "rounds": each round's own figures and parameters, in the order they ran, as RunResult.to_json writes them
  (the format `reqrep bench` keeps for its rounds too): its own requests, seconds, throughput, latency,
  "pss_peak_mib_total", "rss_peak_mib_total", "roles" with each process's pid, timelines of memory ...

A compare document, "format": "reqrep-compare/3":
- "runs": a run document per variant, in the order each round ran them;
- "alternated": true when the variants' rounds alternated (false: files of separate runs shown side by side);
- "ratios": the first variant over the first of another transport (zmq over native), round by round, and
  "more_ratios" (only with three variants or more): the first over each other one, in their order. Each has
  "numerator", "denominator", "rounds" (how many pairs), "stalled_rounds" (the pairs left out, a round of
  them having stalled), and for each of "throughput_rps", "latency_p50_us" and "latency_p99_us":
  - "median": the median of the per-round ratios; "geomean": their geometric mean;
  - "low", "high": the 95% confidence interval of the paired ratio, a t-interval on the log ratios around
    "geomean" (see shared/report/summary.py); null with one round, which has no interval;
  - "confidence": 0.95, null with no interval; "significant": whether the interval leaves out 1 (false
    with one round);
  - "rounds": the pairs this figure stands on (0, and every figure null, when it was not measured).
  "ratios" is {} when the rounds do not pair up (an interrupted comparison) or did not alternate.

Both carry "reqrep_version", "python" and "date" (UTC, ISO 8601), and as written by a command "command" (the
command line, `reqrep ...`) and "machine" (cores, memory_gib, cpu_model, virtual_machine, system, kernel, the
versions of what the figures depend on, and the load average at the start).

Memory is in MiB, times in seconds, latencies in µs (from a histogram: within 0.4% of exact).

The records in shared/report/records.py (and a round's, shared/core/results.py's Round) are this format: their
fields are the keys, and the JSON Schema beside them, shared/report/schema.json, is generated from them
(`python -m shared.report.records` prints it). `read` brings every older format to them, through `adapted`.

# JSON format history
# 3 (reqrep 0.2): "command" and "machine", what made the document and where; "ratios" give the 95%
#   t-interval of the paired ratio (on the log ratios, shared/report/statistics.py), with "geomean" and each figure's
#   "rounds", "low" and "high" null with one round; version 2's were the sign test's interval of the median,
#   whose "confidence" fell short of 95% below 6 rounds. Run documents are otherwise unchanged. `reqrep show`
#   reads version 2 files, and works the ratios out again from their rounds. Later in 0.2, optional keys:
#   "stalled_rounds" and "stalls" (files before them keep stalled rounds in their medians); "more_ratios".
# 2 (a development version of reqrep 0.2): "format"; "requests" in all, split over "rounds"; headline
#   figures are medians of the rounds, with "spread"; "ratios" in compare; memory as PSS
#   ("pss_peak_mib_total", "pss_peak_mib_by_kind", per role "pss_peak_mib" and "uss_peak_mib",
#   "pss_timeline_mib" in rounds), "rss_peak_mib_total" kept as the sum of resident sizes it always was.
# 1 (reqrep 0.1, no "format" key): `run` wrote one run's figures, one sample; `compare` wrote {"runs": [...]}.
#   `reqrep show` reads these as documents of one round.
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


def read(path: str) -> Document:
    """A saved document, checked, as the records of the current format."""
    try:
        with open(path, encoding="utf-8") as saved:
            data = json.load(saved)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{path} is not a JSON file") from None
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
