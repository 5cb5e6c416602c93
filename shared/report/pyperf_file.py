"""Rounds as a pyperf benchmark file (`--pyperf PATH`), for `python -m pyperf stats|hist|compare_to`.

Each variant gives three benchmarks, one value per round: seconds per request, latency p50 and p99. A
benchmark is named by what ran, not by the transport, so that `compare_to` pairs the files of two transports
run with the same options; a comparison's file prefixes each name with its variant ("zmq: ..."). Stalled
rounds are left out unless every round stalled ("reqrep_stalled_rounds" says how many).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

import pyperf

from shared.core.outputs import replacing_path
from shared.core.results import Round
from shared.report.document import label
from shared.report.records import Document, Variant, variants
from shared.report.summary import measured

# (name, the round's value in seconds)
MEASURES: tuple[tuple[str, Callable[[Round], float]], ...] = (
    ("time per request", lambda r: 1 / r.throughput_rps if r.throughput_rps else 0.0),
    ("latency p50", lambda r: r.latency_us["p50"] / 1e6),
    ("latency p99", lambda r: r.latency_us["p99"] / 1e6))
METADATA = ("transport", "codec", "concurrency", "example", "workload", "requesters", "responders", "window", "rate")


def workload_name(run: Variant) -> str:
    """What ran, in a few words: 'router echo lockstep 5x5 processes'."""
    shown = run.parameters
    window = shown.get("window", 1)
    load = f"rate {shown['rate']:g}/s" if shown.get("rate") else "lockstep" if window == 1 else f"window {window}"
    return (f"{shown['example']} {shown['workload']} {load} {shown['requesters']}x{shown['responders']} "
            f"{shown['concurrency']}")


def when(round_: Round) -> dict:
    """A round's date and duration, as pyperf writes them."""
    try:
        date = datetime.fromisoformat(round_.date).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return {}
    return {"date": date, "duration": round_.seconds}


def suite(document: Document) -> pyperf.BenchmarkSuite:
    runs = variants(document)
    machine = pyperf.Run([1.0], metadata={"name": "machine"}).get_metadata()  # pyperf's own account of it
    benchmarks = []
    for run in runs:
        prefix = f"{label(run, runs)}: " if len(runs) > 1 else ""
        extra = {f"reqrep_{key}": run.parameters[key] for key in METADATA if run.parameters.get(key) not in (None, "")}
        stalled = sum(1 for each in run.rounds if each.stall)
        extra |= {"reqrep_stalled_rounds": stalled} if stalled else {}
        for measure, read in MEASURES:
            name = f"{prefix}{workload_name(run)}: {measure}"
            rounds = [pyperf.Run([read(each)], collect_metadata=False,
                                 metadata=machine | extra | when(each) | {"name": name, "unit": "second",
                                                                          "loops": 1,
                                                                          "reqrep_requests": each.requests})
                      for each in measured(run.rounds) if read(each) > 0]
            if rounds:  # none when latency was not recorded
                benchmarks.append(pyperf.Benchmark(rounds))
    return pyperf.BenchmarkSuite(benchmarks)


def write(document: Document, path: str) -> None:
    """The file, whole or not at all; gzip-compressed when its name ends in .gz, as pyperf does."""
    with replacing_path(path) as temporary:
        suite(document).dump(temporary + (".gz" if path.endswith(".gz") else ""), replace=True)
        if path.endswith(".gz"):
            os.replace(temporary + ".gz", temporary)
