"""The bench's targets: how a verdict reads (only the paths that fail it named; a latency target judging only
lockstep paths), on made-up results; and at full size, each study's preset as a user runs it, minutes each, so
not part of the default run (`pytest -m bench` runs those; run them on a quiet machine, since throughput on a
loaded one means little). Each writes its results where `--basetemp` puts them, for a look afterwards."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import TRANSPORTS, reqrep
from test_bench import PATHS, made_up_result

from shared.bench import report as bench_report
from shared.bench import sweep
from shared.bench.engine import Bench, Record, facts
from shared.bench.studies.conditions import Recording
from shared.bench.studies.sweep import Stalls
from shared.core.machine import machine_facts

full_size = pytest.mark.bench


def bench(preset: str, out, minutes: float) -> tuple[dict, int]:
    done = reqrep("bench", "--preset", preset, "--out", str(out), "--quiet", timeout=minutes * 60)
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads((out / "results.json").read_text()), done.returncode


@full_size
@pytest.mark.timeout(15 * 60)
def test_recording_latency_costs_at_most_two_percent_of_throughput(tmp_path):
    results, status = bench("recording", tmp_path, 14)
    assert status == 0 and results["lost"] == 0
    figures = results["studies"]["recording"]
    assert figures["met"], figures["paths"]


@full_size
@pytest.mark.timeout(30 * 60)
def test_a_thousand_requesters_in_every_mode_lose_nothing(tmp_path):
    results, status = bench("many", tmp_path, 29)
    assert status == 0 and results["lost"] == 0
    assert {p["requesters"] for p in results["points"]} >= {1000}


@full_size
@pytest.mark.timeout(20 * 60)
def test_soak_memory_grows_by_less_than_ten_percent(tmp_path):
    results, status = bench("soak", tmp_path, 19)
    assert status == 0 and results["lost"] == 0
    figures = results["studies"]["soak"]
    assert figures["met"], figures["paths"]


@full_size
@pytest.mark.timeout(15 * 60)
def test_faults_lose_nothing_with_retries_and_a_hung_responder_costs_pulling_paths_little(tmp_path):
    results, status = bench("faults", tmp_path, 14)
    assert status == 0 and results["lost"] == 0  # the runs without retries lose on purpose: not counted
    assert results["studies"]["faults"]["nothing_lost_with_retries"]
    inflicted = [r["inflicted"] for case in results["studies"]["faults"]["cases"]
                 for r in case["by_itself"] + case["with_retries"]]
    assert all("killed at" in text or "hung at" in text for text in inflicted), inflicted
    dispatch = results["studies"]["dispatch"]
    assert dispatch["delivered_twice"] == 0  # no reply reaches a caller twice, anywhere
    assert set(dispatch["hung"]) == {"zmq-balancing hang@98%", "native hang@98%"}
    assert dispatch["met"], dispatch["hung"]  # within 1.5× the healthy time, nothing lost


@full_size
@pytest.mark.timeout(10 * 60)
def test_the_balancing_brokers_healthy_throughput_is_a_ratio_to_the_proxys_paired_over_rounds(tmp_path):
    results, status = bench("brokers", tmp_path, 9)
    assert status == 0 and results["lost"] == 0
    ratios = results["studies"]["dispatch"]["healthy_throughput_ratios"]["zmq-balancing / zmq"]
    assert ratios["rounds"] == results["sweep"]["rounds"] == 5 and ratios["median"] > 0


@full_size
@pytest.mark.timeout(15 * 60)
def test_arrays_of_every_size_travel_every_path_and_their_codec_work_is_measured(tmp_path):
    pytest.importorskip("numpy", reason="numpy is not installed: the ndarray study sends NumPy arrays")
    results, status = bench("ndarray", tmp_path, 14)
    assert status == 0 and results["lost"] == 0
    figures = results["studies"]["ndarray"]
    sizes = {str(size) for size in results["sweep"]["studies"][0]["sizes"]}
    for path, rows in figures["paths"].items():
        assert set(rows) == sizes and all(row["costs"]["rest_us"] > 0 for row in rows.values()), path
    assert all(ratio["median"] for ratio in figures["throughput_ratios"]["zmq-ext / native"].values())


@full_size
@pytest.mark.timeout(15 * 60)
def test_network_delay_costs_each_crossing_its_round_trip(tmp_path):
    results, status = bench("delay", tmp_path, 14)
    assert status == 0 and results["lost"] == 0
    for row in results["studies"]["delay"]["rows"]:
        crossings = {"loopback": 0, "requesters away": 2, "three hosts": 4}[row["placement"]]
        assert row["p50_us"] >= crossings * (row["delay_ms"] or 0) * 1000, row


# ---- how a verdict reads, on made-up results -----------------------------------------------------------------
KIB = 1024
QUEUEING = "p50 of a windowed or batched path is time in the queue, not the service"


def made_up_stalls(growth: dict[str, float]) -> Bench:
    """The tiny sweep, each path's p50 at 32 KiB `growth[path]` times its p50 at 1 KiB (1.0 if not given)."""
    session = Bench(sweep.choose_sweep("tiny", PATHS, None, None))
    session.machine, session.date = machine_facts(TRANSPORTS.values()), "2026-12-04T06:00:00+00:00"
    session.transports = facts(TRANSPORTS)
    for point, studies in session.plan.items():
        record = session.records[point] = Record(point, studies)
        large = point.payload_bytes > 16 * KIB
        record.results[1] = made_up_result(point, 100.0 * (growth.get(point.path, 1.0) if large else 1.0))
    return session


def stalls_of(session: Bench) -> Stalls:
    return next(study for study in session.sweep.studies if isinstance(study, Stalls))


@pytest.mark.timeout(10)
def test_a_latency_target_not_met_names_only_the_path_that_fails_it():
    session = made_up_stalls({"zmq": 1.5, "native": 4.0})
    verdict = stalls_of(session).verdict(session)
    assert "not met by native processes 4.0×" in verdict, verdict
    assert "zmq" not in verdict, verdict  # 1.5×: it meets the target, so the line does not name it
    summary = stalls_of(session).summary(session)
    assert summary["met"] is False
    assert summary["judged"]["native processes"] == {"ratio": 4.0, "met": False}
    assert summary["judged"]["zmq processes"] == {"ratio": 1.5, "met": True}


@pytest.mark.timeout(10)
def test_a_throughput_target_not_met_names_only_the_path_that_fails_it():
    session = Bench(dataclasses.replace(sweep.choose_sweep("recording-tiny", PATHS, None, None), rounds=2))
    for point, studies in session.plan.items():
        record = session.records[point] = Record(point, studies)
        for n in (1, 2):
            record.results[n] = made_up_result(point, 100.0)
            slower = point.path == "native" and point.option("record_latency", True)
            record.results[n].seconds = 1.05 if slower else 1.0  # recording costs native 5%, zmq nothing
    study = Recording()
    verdict = study.verdict(session)
    assert "not met by native +5.0% (1 of 2 judged)" in verdict, verdict
    assert "zmq" not in verdict, verdict
    assert study.summary(session)["paths"]["zmq"]["met"] is True
    assert study.summary(session)["paths"]["native"]["met"] is False


@pytest.mark.timeout(10)
def test_a_windowed_path_is_not_judged_on_p50_and_the_reason_is_said_once():
    session = made_up_stalls({"zmq": 1.2, "native": 1.1, "native-batch": 9.0})  # batch: window 16, queueing
    study = stalls_of(session)
    verdict = study.verdict(session)
    assert ": met (" in verdict and "not met" not in verdict, verdict
    assert verdict.count(QUEUEING) == 1 and verdict.count("native-batch") == 1, verdict
    summary = study.summary(session)
    assert summary["met"] is True and summary["not_judged"]["native-batch"] == QUEUEING
    assert not any(where.startswith("native-batch") for where in summary["judged"])
    report = bench_report.report_markdown(session, {})
    console = bench_report.summary(session, [])
    assert verdict in report.splitlines() and verdict in console  # report.md and stdout say the same
    assert report.count(QUEUEING) == 1 and "\n".join(console).count(QUEUEING) == 1
