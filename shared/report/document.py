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
- "ratios": the first variant against the first of another transport (zmq against native), round by round:
  "numerator", "denominator", "rounds" (how many pairs), "stalled_rounds" (the pairs left out, a round of
  them having stalled), and for each of "throughput_rps", "latency_p50_us"
  and "latency_p99_us":
  - "median": the median of the per-round ratios; "geomean": their geometric mean;
  - "low", "high": the 95% confidence interval of the paired ratio, a t-interval on the log ratios around
    "geomean" (see shared/report/summary.py); null with one round, which has no interval;
  - "confidence": 0.95, null with no interval; "significant": whether the interval leaves out 1 (false
    with one round);
  - "rounds": the pairs this figure stands on (0, and every figure null, when it was not measured).
  {} when there is no other transport, or when the rounds do not pair up (an interrupted comparison).

Both carry "reqrep_version", "python" and "date" (UTC, ISO 8601), and as written by a command "command" (the
command line, `reqrep ...`) and "machine" (cores, memory_gib, cpu_model, virtual_machine, system, kernel, the
versions of what the figures depend on, and the load average at the start).

Memory is in MiB, times in seconds, latencies in µs (from a histogram: within 0.4% of exact).

# JSON format history
# 3 (reqrep 0.2): "command" and "machine", what made the document and where; "ratios" give the 95%
#   t-interval of the paired ratio (on the log ratios, shared/report/statistics.py), with "geomean" and each figure's
#   "rounds", "low" and "high" null with one round; version 2's were the sign test's interval of the median,
#   whose "confidence" fell short of 95% below 6 rounds. Run documents are otherwise unchanged. `reqrep show`
#   reads version 2 files, and works the ratios out again from their rounds.
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
from shared.core.results import RunResult
from shared.report.summary import headline, parameters, ratios, stalled_pairs

VERSION = 3
RUN, COMPARE = f"reqrep-run/{VERSION}", f"reqrep-compare/{VERSION}"
RUN_2, COMPARE_2 = "reqrep-run/2", "reqrep-compare/2"  # read, and brought up to date


def stamp() -> dict:
    return {"reqrep_version": __version__, "python": platform.python_version(),
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


def run_document(rounds: list[dict]) -> dict:
    """A variant's document from its rounds (each in the format of RunResult.to_json)."""
    return {"format": RUN, **parameters(rounds), **headline(rounds), "rounds": rounds, **stamp()}


def compare_document(variants: list[list[dict]]) -> dict:
    """The variants' documents and the ratios of the first two transports, from their rounds."""
    runs = [run_document(rounds) for rounds in variants]
    return {"format": COMPARE, "runs": runs, "alternated": True, "ratios": pair_ratios(runs), **stamp()}


def pair_ratios(runs: list[dict]) -> dict:
    """The first variant over the first of another transport, paired round by round; {} when there is none
    or their rounds do not pair up."""
    first = runs[0]
    other = next((run for run in runs[1:] if run["transport"] != first["transport"]), None)
    if other is None or len(other["rounds"]) != len(first["rounds"]):
        return {}
    intervals = ratios(first["rounds"], other["rounds"])
    return {"numerator": label(first, runs), "denominator": label(other, runs), "rounds": len(first["rounds"]),
            "stalled_rounds": stalled_pairs(first["rounds"], other["rounds"]),
            **{name: interval.to_json() for name, interval in intervals.items()}}


def label(run: dict, runs: list[dict] | None = None) -> str:
    """A variant's name: its transport, and its codec too when the transport appears twice (--factorial)."""
    if runs and sum(other["transport"] == run["transport"] for other in runs) > 1:
        return f"{run['transport']}+{run['codec']}"
    return run["transport"]


def of_results(variants: list[list[RunResult]], made_by: dict | None = None) -> dict:
    """The document a command writes for its variants' results: a run's, or a comparison's; `made_by` its
    "command" and "machine" (shared/core/machine.py), so that a table says what made it, when and where."""
    rounds = [[result.to_json() for result in results] for results in variants]
    made = run_document(rounds[0]) if len(rounds) == 1 else compare_document(rounds)
    return made | (made_by or {})


def side_by_side(documents: list[dict]) -> dict:
    """Several saved documents as one comparison of all their runs; no ratios, since their rounds did not
    alternate."""
    return {"format": COMPARE, "runs": [run for each in documents for run in variants(each)], "alternated": False,
            "ratios": {}, **stamp()}


def succeeded(run: dict) -> bool:
    """Whether every request of a run document's rounds came back right, once."""
    return not run["interrupted"] and run["ok"] == run["requests"] and run["failed"] == 0


def variants(document: dict) -> list[dict]:
    """The run documents a document holds: itself, or a comparison's runs."""
    return document["runs"] if document["format"] == COMPARE else [document]


def read(path: str) -> dict:
    """A saved document, checked, in the current format (a version 1 file becomes one of a single round)."""
    try:
        with open(path, encoding="utf-8") as saved:
            document = json.load(saved)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{path} is not a JSON file") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path} is not a reqrep run or compare file")
    kind = document.get("format")
    if kind in (RUN, COMPARE):
        return document
    if kind == RUN_2:
        return document | {"format": RUN}
    if kind == COMPARE_2 and isinstance(document.get("runs"), list):
        runs = [run | {"format": RUN} for run in document["runs"]]
        return document | {"format": COMPARE, "runs": runs,
                           "ratios": pair_ratios(runs) if document.get("alternated") else {}}
    if kind is None and "runs" in document and all(is_round(run) for run in document["runs"]):
        return compare_document([[run] for run in document["runs"]])
    if kind is None and is_round(document):
        return run_document([document])
    what = f"a {kind} file" if isinstance(kind, str) else "not a reqrep run or compare file"
    raise UsageError(f"{path} is {what}: `reqrep show` reads the files of `reqrep run` and `reqrep compare` "
                     f"(--json), formats {RUN} and {COMPARE} or older")


def is_round(document) -> bool:
    """Whether a version 1 object is one run's figures."""
    return isinstance(document, dict) and {"transport", "requests", "throughput_rps", "latency_us"} <= document.keys()
