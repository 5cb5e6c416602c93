"""The bench's own studies (shared/bench/studies/): each preset's tiny form runs for real and writes its sections and
its figures to results.json; the arithmetic behind the verdicts (paired rounds, growth, losses on purpose, a
hung responder against the healthy run, where an array's time goes) on made-up results; a path or a fault
added to the faults study with one line; `--payload`, the user's values on each path that carries them; and
`--broker`, the zmq paths behind each broker given."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from conftest import TRANSPORTS, reqrep
from test_bench import PATHS, made_up_result

from shared.bench import engine as bench
from shared.bench import sweep
from shared.bench.presets import DESCRIPTIONS
from shared.bench.report import section_lines
from shared.bench.studies.conditions import Recording, growth
from shared.bench.studies.faults import Faults
from shared.bench.studies.values import Arrays
from shared.cli.commands import bench_paths, parse
from shared.core.bench_paths import BenchPath
from shared.core.errors import UsageError
from shared.semantics.values import load_payload

PLAIN = {path.name for path in PATHS if path.plain}
FAULTY = {path.name for path in PATHS if path.plain or "faults" in path.studies}  # the fault studies' paths
ARRAYS = {path.name for path in PATHS if "ndarray" in path.studies}


def bench_tiny(preset: str, out) -> dict:
    done = reqrep("bench", "--preset", preset, "--out", str(out), "--quiet", timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["format"] == bench.FORMAT and results["lost"] == 0
    return results


def test_the_command_line_lists_every_preset_and_starts_without_the_bench():
    """--preset's names and help come from shared/bench/presets.py, so that commands other than bench and show
    start without importing the bench (a fifth of reqrep's start-up)."""
    assert {name: each.description for name, each in sweep.PRESETS.items()} == DESCRIPTIONS
    done = subprocess.run([sys.executable, "-c", "import sys; from shared.cli import commands; "
                           "commands.parse(['bench', '--preset', 'local-tiny']); "
                           "print(sorted(name for name in sys.modules if name.startswith('shared.bench.')))"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['shared.bench.presets']", done.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("preset, headings", [
    ("recording-tiny", ["## What recording latency costs"]),
    ("many-tiny", ["## Many requesters"]),
    ("soak-tiny", ["## Soak: memory over a long run"]),
    ("faults-tiny", ["## Push against pull: faults and uneven service times",
                     "## Faults by themselves, and with reqrep's retries"]),
    ("brokers-tiny", ["## Push against pull: faults and uneven service times"]),
    ("delay-tiny", ["## Network delay"]),
    ("ndarray-tiny", ["## NumPy arrays"]),
])
def test_each_preset_runs_tiny_and_writes_its_section(preset, headings, tmp_path):
    if preset == "ndarray-tiny":
        pytest.importorskip("numpy", reason="numpy is not installed: the ndarray study sends NumPy arrays")
    results = bench_tiny(preset, tmp_path)
    studies = [study.name for study in sweep.PRESETS[preset].studies]
    assert list(results["studies"]) == studies and all(results["studies"].values())
    assert all(set(point["studies"]) <= set(studies) for point in results["points"])
    report = (tmp_path / "report.md").read_text()
    assert all(heading in report for heading in headings) and ("| path |" in report or "| array |" in report)
    CHECKS[preset.removesuffix("-tiny")](results, report)


def recording(results: dict, report: str) -> None:
    figures = results["studies"]["recording"]
    assert set(figures["paths"]) == PLAIN and figures["target"] == 0.02
    for path in figures["paths"].values():
        assert path["rounds"] == path["throughput_off_over_on"]["rounds"] == 2 and path["cost"] is not None
    off = [point for point in results["points"] if point["options"] == {"record_latency": False}]
    assert len(off) == len(PLAIN) and all(r["latency_us"]["p50"] == 0 for p in off for r in p["rounds"])
    assert "Target, recording latency costs at most 2% of throughput" in report


def many(results: dict, report: str) -> None:
    points = results["points"]
    assert {(p["path"], p["concurrency"]) for p in points} == {(path, c) for path in PLAIN
                                                                for c in ("processes", "threads", "asyncio")}
    assert all(p["succeeded"] and p["requesters"] == 8 for p in points)
    assert results["studies"]["many"]["zmq asyncio"]["8"]["processes"] == 1


def soak(results: dict, report: str) -> None:
    figures = results["studies"]["soak"]
    assert set(figures["paths"]) == PLAIN and figures["met"] is not None
    for path in figures["paths"].values():
        assert path["samples"] >= 1 and path["last_tenth_mib"] > 0
    assert all(p["rounds"][0]["rss_timeline_mib"] for p in results["points"])


def faults(results: dict, report: str) -> None:
    figures = results["studies"]["faults"]
    assert figures["nothing_lost_with_retries"] is True
    assert {(case["path"], case["fault"]) for case in figures["cases"]} == {(path, "hang@99%") for path in FAULTY}
    alone = [p for p in results["points"] if p["options"] == {"fault": "hang@99%", "retries": 0}]
    assert len(alone) == len(FAULTY)
    assert "but the" in report or all(p["succeeded"] for p in alone)  # losses on purpose are not the bench's
    shared = [p for p in results["points"] if p["studies"] == ["dispatch", "faults"]]
    assert {p["path"] for p in shared} == FAULTY  # the hang with retries serves both studies, run once
    dispatch = results["studies"]["dispatch"]
    assert {(case["case"], case["path"]) for case in dispatch["cases"]} == {
        (case, path) for case in ("healthy", "--fault hang@99%", "--service-time slow:1%:50ms") for path in FAULTY}
    assert all(case["rounds"] and case["rounds"][0]["lost"] == 0 for case in dispatch["cases"])
    assert dispatch["delivered_twice"] == 0 and set(dispatch["hung"]) == {"zmq-balancing hang@99%", "native hang@99%"}
    assert "responder 1 hung at" in report and "| --service-time slow:1%:50ms | zmq-balancing | pull |" in report
    assert "no reply reached a caller twice anywhere" in report and "zmq-balancing / zmq" in report


def brokers(results: dict, report: str) -> None:
    dispatch = results["studies"]["dispatch"]
    assert {(case["case"], case["path"]) for case in dispatch["cases"]} == {("healthy", path) for path in FAULTY}
    assert dispatch["healthy_throughput_ratios"]["zmq-balancing / zmq"]["rounds"] == 2  # paired, round by round
    assert "Healthy throughput of each path over its transport's own path, paired per round: zmq-balancing / zmq " \
           in report


def delay(results: dict, report: str) -> None:
    rows = results["studies"]["delay"]["rows"]
    assert len(rows) == 3 * len([p for p in PATHS if p.plain or "delay" in p.studies])
    for row in rows:  # 1 ms one way: a relay crossed out and back costs at least 2 ms
        crossings = {"loopback": 0, "requesters away": 2, "three hosts": 4}[row["placement"]]
        assert row["p50_us"] >= crossings * 1000, row
    assert "zmq-shared" in {row["path"] for row in rows}


def ndarray(results: dict, report: str) -> None:
    assert {p["path"] for p in results["points"]} == ARRAYS and {p["payload_kind"] for p in results["points"]} == {
        "ndarray"}
    for point in results["points"]:
        run = point["rounds"][0]
        assert run["payload"] == f"ndarray: float64, {'8 KiB' if point['payload_bytes'] < 2**20 else '1 MiB'}"
        assert point["payload_bytes"] <= run["codec_costs"]["encoded_bytes"] < point["payload_bytes"] + 200
        assert run["codec_costs"]["passes"] in (2, 4) and run["codec_costs"]["encode_us"] > 0
        settings = results["sweep"]["paths"][point["path"]]["settings"]
        assert settings.get("zero_copy_above", "default") in ("default", 0, None)
    figures = results["studies"]["ndarray"]
    assert set(figures["paths"]) == ARRAYS and figures["throughput_ratios"]["zmq-ext / native"]["1048576"]["median"] > 0
    assert set(figures["p50_ratios_paired"]) == {"zmq-ext-zero-copy / zmq-ext", "zmq-ext-copy / zmq-ext"}
    assert "| 1 MiB | zmq-ext | 1,048,598 |" in report and "**Where a round trip's time goes**" in report
    assert "](ndarray.png)" in report or "matplotlib is not installed" in report


CHECKS = {"recording": recording, "many": many, "soak": soak, "faults": faults, "brokers": brokers, "delay": delay,
          "ndarray": ndarray}


def made_up_bench(preset: str) -> bench.Bench:
    return bench.Bench(dataclasses.replace(sweep.choose_sweep(preset, PATHS, None, None), rounds=3))


def test_recording_pairs_its_runs_by_round_and_leaves_out_a_round_that_failed():
    session = made_up_bench("recording-tiny")
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        recording = point.option("record_latency", True)
        for n, seconds in ((1, 1.0), (2, 1.0), (3, 1.0)):
            failed = 5 if (n, recording, point.path) == (2, False, "zmq") else 0
            result = made_up_result(point, 100.0, failed)
            result.seconds = seconds * (1.04 if recording else 1.0)  # recording: 4% slower in every round
            record.results[n] = result
    summary = Recording().summary(session)
    assert summary["paths"]["zmq"]["rounds"] == 2 and summary["paths"]["native"]["rounds"] == 3
    assert summary["paths"]["native"]["cost"] == pytest.approx(0.04, abs=1e-3) and summary["met"] is False
    assert len(session.lost) == 1  # the failed round is a lost point: recording is not meant to lose


def test_soak_growth_compares_the_largest_of_the_last_tenth_with_the_first():
    timeline = [(float(second), 100.0 + (second >= 95) * 12.0) for second in range(101)]
    figure = growth(timeline)
    assert (figure["first_tenth_mib"], figure["last_tenth_mib"], figure["growth"]) == (100.0, 112.0, 0.12)
    assert growth([(0.0, 50.0)])["growth"] == 0.0 and growth([]) is None


def test_faults_by_themselves_lose_on_purpose_but_not_with_retries():
    session = made_up_bench("faults-tiny")
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        record.results[1] = made_up_result(point, 100.0, failed=7)  # every run lost 7
    lost = {record.point.option("retries", 3) for record in session.lost}
    assert lost == {3}  # only the runs with reqrep's retries count as lost
    assert session.studies["faults"].summary(session)["nothing_lost_with_retries"] is False


def test_a_path_or_a_fault_joins_the_faults_study_with_one_line():
    small = BenchPath("zmq-small", "zmq", "msgpack", {"max_message_bytes": 1024}, studies=("faults",))
    chosen = dataclasses.replace(sweep.choose_sweep("faults", [*PATHS, small], None, None),
                                 studies=(Faults(("kill", "hang"), (1,)),))
    points = sweep.plan(chosen)
    assert {(p.path, p.option("fault")) for p in points} == {(path, fault) for path in (*FAULTY, "zmq-small")
                                                             for fault in ("kill", "hang")}
    assert not any(p.path == "zmq-small" for p in sweep.plan(sweep.choose_sweep("tiny", [*PATHS, small], None, None)))


def test_a_hung_responder_is_measured_against_the_healthy_run_push_and_pull_apart():
    session = made_up_bench("faults-tiny")
    seconds = {"healthy": 2.0, "pull": 2.8, "push": 60.0}  # pulling: 1.4× its healthy time; pushing: 30×
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        for n in (1, 2, 3):
            result = made_up_result(point, 100.0)
            pushes = session.sweep.path(point.path).pushes
            result.seconds = seconds["healthy" if not point.options else "push" if pushes else "pull"]
            result.fault = "responder 1 hung at 1.90 s" if point.option("fault") else ""
            record.results[n] = result
    study = session.studies["dispatch"]
    summary = study.summary(session)
    assert summary["met"] is True and summary["delivered_twice"] == 0
    assert {name: figure["ratio"] for name, figure in summary["hung"].items()} == {
        "zmq-balancing hang@99%": 1.4, "native hang@99%": 1.4}
    verdict = study.verdict(session)
    assert "within 1.5× its healthy time, nothing lost: met" in verdict
    assert "Pushing, as it is: zmq hang@99% 60.0 s, 30.0×" in verdict
    row = "| --fault hang@99% | zmq | push | 60.00 | 30.00× (30.00–30.00) | 0 | 0 | 0 | 0.10 | 0.20 | 0.30 |"
    assert row in "\n".join(line for each in study.sections(session) for line in section_lines(each))

    hung = next(r for r in session.records.values() if r.point.path == "native" and r.point.option("fault"))
    hung.results[2].seconds = 3.2  # 1.6×: the median of the rounds is still 1.4×
    hung.results[3].answered += 1  # a reply taken twice: a duplicate that reached the caller
    summary = study.summary(session)
    assert summary["met"] is True and summary["delivered_twice"] == 1
    assert "1 replies reached a caller twice: not met" in study.verdict(session)
    hung.results[3].seconds = 3.2
    assert study.summary(session)["met"] is False


def test_where_an_arrays_time_goes_from_made_up_costs():
    session = made_up_bench("ndarray-tiny")
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        native = point.path == "native"
        for n in (1, 2, 3):
            record.results[n] = made_up_result(point, 400.0 if native else 200.0)
            record.results[n].seconds = 2.0 if native else 1.0
            record.codec_costs[n] = {"encoded_bytes": point.payload_bytes + 20, "passes": 4 if native else 2,
                                     "encode_us": 30.0 + n, "decode_us": 10.0, "copy_us": 8.0}
    study = Arrays((8 * 1024, 1024 * 1024))
    lines = "\n".join(line for each in study.sections(session) for line in section_lines(each))
    assert "| 1 MiB | zmq-ext | 1,048,596 | 32.0 | 10.0 | 8.0 | 2 × 42.0 = 84 | 200 | 116 | 14.5 |" in lines
    assert "| 1 MiB | native | 1,048,596 | 32.0 | 10.0 | 8.0 | 4 × 42.0 = 168 | 400 | 232 | 29.0 |" in lines
    ratios = study.summary(session)["throughput_ratios"]["zmq-ext / native"]
    assert {size: ratio["median"] for size, ratio in ratios.items()} == {"8192": 2.0, "1048576": 2.0}
    assert "throughput of zmq-ext over native: 2.00× at 8 KiB, 2.00× at 1 MiB" in study.verdict(session)


def test_the_ndarray_study_says_it_needs_numpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)  # as if it were not installed
    with pytest.raises(UsageError, match=r"NumPy is not installed: pip install 'reqrep\[numpy\]'"):
        sweep.choose_sweep("ndarray-tiny", PATHS, None, None)


def test_every_other_round_runs_the_plan_backwards(monkeypatch):
    ran = []

    def run_point(record, round_number, config, progress):
        ran.append((round_number, record.point))
        record.results[round_number] = made_up_result(record.point, 100.0)

    monkeypatch.setattr(bench, "run_point", run_point)
    session = made_up_bench("recording-tiny")
    session.run(TRANSPORTS)
    forwards = list(session.plan)
    assert [point for n, point in ran if n == 1] == forwards == [point for n, point in ran if n == 3]
    assert [point for n, point in ran if n == 2] == forwards[::-1]
    assert [p.option("record_latency", True) for p in forwards[:2]] == [True, False]  # on and off side by side


# ---- your own values (bench --payload) --------------------------------------------------------------------------
OWN = """
import datetime as dt

VALUES = {"when": dt.datetime(2024, 5, 17, 13, 45), "pair": (1, ("two", 3.0)), "blob": bytes(range(256))}
"""


@pytest.mark.timeout(120)
def test_bench_payload_runs_your_values_on_each_path_that_carries_them(tmp_path):
    values = tmp_path / "values.py"
    values.write_text(OWN)
    out = tmp_path / "bench"
    done = reqrep("bench", "--payload", str(values), "--requests", "60", "--rounds", "2", "--out", str(out), "--quiet",
                  timeout=100)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "reqrep: zmq left out, its codec cannot carry the values: `when` (datetime) cannot be encoded by " \
           "msgpack" in done.stderr and "`pair` (tuple) comes back changed through msgpack" in done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["format"] == bench.FORMAT and results["lost"] == 0 and results["sweep"]["preset"] == "values"
    assert {(p["path"], p["payload_kind"]) for p in results["points"]} == {("zmq-ext", "values"),
                                                                           ("native", "values")}
    for point in results["points"]:
        assert all(run["ok"] == point["requests"] and run["workload"] == "mirror" for run in point["rounds"])
    figures = results["studies"]["values"]
    assert figures["values"] == ["when", "pair", "blob"] and set(figures["left_out"]) == {"zmq"}
    assert all(path["payload_bytes"] > 0 for path in figures["paths"].values())
    assert figures["throughput_ratios"]["zmq-ext / native"]["rounds"] == 2  # paired, round by round
    report = (out / "report.md").read_text()
    assert "## Your values" in report and "| zmq-ext | msgpack-ext |" in report and "- `zmq`: `when`" in report


def test_bench_payload_that_no_path_carries_is_refused_before_anything_starts(tmp_path):
    values = tmp_path / "values.py"
    values.write_text("import threading\nVALUES = [threading.Lock()]\n")
    out = tmp_path / "bench"
    done = reqrep("bench", "--payload", str(values), "--out", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "the payload cannot travel on any path of the bench" in done.stderr
    assert "native: `0` (lock) cannot be encoded by pickle" in done.stderr and not out.exists()
    done = reqrep("bench", "--payload", str(values), "--preset", "tiny")
    assert done.returncode == 2 and "not allowed with argument --payload" in done.stderr
    with pytest.raises(UsageError, match="--payload sends your values in a preset of its own"):
        sweep.choose_sweep("tiny", PATHS, None, None, payload=load_payload(str(values)))


# ---- the zmq brokers (bench --broker) ---------------------------------------------------------------------------
def broker_paths(*brokers: str) -> dict:
    args = parse(["bench", *(f"--broker={broker}" for broker in brokers)])
    return {path.name: path for path in bench_paths(args) if path.transport == "zmq"}


def test_bench_broker_puts_every_zmq_path_behind_each_broker_given():
    assert set(broker_paths()) == {path.name for path in PATHS if path.transport == "zmq"}  # the presets' own
    alone = broker_paths("balancing")
    assert "zmq-balancing" not in alone and all(p.settings["broker"] == "balancing" and not p.pushes
                                                for p in alone.values())
    both = broker_paths("proxy", "balancing")
    twins = {name for name in both if name.endswith("-balancing")}
    assert twins == {f"{name}-balancing" for name in both if name not in twins}
    assert all("broker" not in both[name].settings and both[name].pushes for name in set(both) - twins)
    assert all(both[name].settings["broker"] == "balancing" and not both[name].pushes for name in twins)
    chosen = sweep.choose_sweep("tiny", [*both.values(), *(p for p in PATHS if p.transport != "zmq")], None, None)
    planned = {(point.path, point.concurrency) for point in sweep.plan(chosen)}
    assert {("zmq-balancing", mode) for mode in ("processes", "threads", "asyncio")} <= planned  # as zmq runs


@pytest.mark.timeout(120)
def test_bench_broker_balancing_alone_runs_the_fault_studies_behind_it(tmp_path):
    results = json.loads(bench_tiny_with(tmp_path, "faults-tiny", "--broker", "balancing").read_text())
    paths = results["sweep"]["paths"]
    assert {point["path"] for point in results["points"]} == {"zmq", "native"}
    assert all(path["settings"]["broker"] == "balancing" for path in paths.values() if path["transport"] == "zmq")
    dispatch = results["studies"]["dispatch"]
    assert {case["path"]: case["pushes"] for case in dispatch["cases"]} == {"zmq": False, "native": False}
    assert set(dispatch["hung"]) == {"zmq hang@99%", "native hang@99%"} and dispatch["delivered_twice"] == 0


def bench_tiny_with(tmp_path, preset: str, *extra: str):
    done = reqrep("bench", "--preset", preset, *extra, "--out", str(tmp_path), "--quiet", timeout=100)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    return tmp_path / "results.json"
