"""The JSON documents `reqrep run` and `reqrep compare` write with --json, and `reqrep show` reads.

Their format is the records of shared/report/records.py ("reqrep-run/3" a Variant, "reqrep-compare/3" a
Comparison), each field said beside it; shared/report/schema.json, their JSON Schema, is generated from them
(`python -m shared.report.records`). A run document holds its parameters flat, as a round has them (the
transport's own too: zmq's "curve", native's "authkey_challenge", never a key; "described": the settings
in the table's words), its headline figures named as in a round, and its "rounds" as RunResult.to_json
writes them.
A compare document's ratios are Intervals (shared/report/statistics.py); "ratios" is {} when the rounds do not
pair up or did not alternate. Both carry "reqrep_version", "python", "date" (UTC, ISO 8601), "command"
(`reqrep ...`) and "machine" (shared/core/machine.py). Memory is in MiB, times in seconds, latencies in µs
(from a histogram: within 0.4% of exact).

`read` brings older formats to the records through `adapted`: version 2 has the sign test's interval (worked
out again from the rounds) and no "command" or "machine"; version 1 (no "format") holds one round.
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
