"""The bench's targets at full size: each study's preset as a user runs it, minutes each, so not part of the
default run (`pytest -m bench` runs them; run them on a quiet machine, since throughput on a loaded one means
little). Each writes its results where `--basetemp` puts them, for a look afterwards."""

from __future__ import annotations

import json

import pytest
from conftest import reqrep

pytestmark = pytest.mark.bench


def bench(preset: str, out, minutes: float) -> tuple[dict, int]:
    done = reqrep("bench", "--preset", preset, "--out", str(out), "--quiet", timeout=minutes * 60)
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads((out / "results.json").read_text()), done.returncode


@pytest.mark.timeout(15 * 60)
def test_recording_latency_costs_at_most_two_percent_of_throughput(tmp_path):
    results, status = bench("recording", tmp_path, 14)
    assert status == 0 and results["lost"] == 0
    figures = results["studies"]["recording"]
    assert figures["met"], figures["paths"]


@pytest.mark.timeout(30 * 60)
def test_a_thousand_requesters_in_every_mode_lose_nothing(tmp_path):
    results, status = bench("many", tmp_path, 29)
    assert status == 0 and results["lost"] == 0
    assert {p["requesters"] for p in results["points"]} >= {1000}


@pytest.mark.timeout(20 * 60)
def test_soak_memory_grows_by_less_than_ten_percent(tmp_path):
    results, status = bench("soak", tmp_path, 19)
    assert status == 0 and results["lost"] == 0
    figures = results["studies"]["soak"]
    assert figures["met"], figures["paths"]


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


@pytest.mark.timeout(10 * 60)
def test_the_balancing_brokers_healthy_throughput_is_a_ratio_to_the_proxys_paired_over_rounds(tmp_path):
    results, status = bench("brokers", tmp_path, 9)
    assert status == 0 and results["lost"] == 0
    ratios = results["studies"]["dispatch"]["healthy_throughput_ratios"]["zmq-balancing / zmq"]
    assert len(ratios) == results["sweep"]["rounds"] == 5 and all(ratio > 0 for ratio in ratios)


@pytest.mark.timeout(15 * 60)
def test_arrays_of_every_size_travel_every_path_and_their_codec_work_is_measured(tmp_path):
    pytest.importorskip("numpy", reason="numpy is not installed: the ndarray study sends NumPy arrays")
    results, status = bench("ndarray", tmp_path, 14)
    assert status == 0 and results["lost"] == 0
    figures = results["studies"]["ndarray"]
    sizes = {str(size) for size in results["sweep"]["studies"][0]["sizes"]}
    for path, rows in figures["paths"].items():
        assert set(rows) == sizes and all(row["costs"]["rest_us"] > 0 for row in rows.values()), path
    assert all(figures["throughput_ratios"]["zmq-ext / native"].values())


@pytest.mark.timeout(15 * 60)
def test_network_delay_costs_each_crossing_its_round_trip(tmp_path):
    results, status = bench("delay", tmp_path, 14)
    assert status == 0 and results["lost"] == 0
    for row in results["studies"]["delay"]["rows"]:
        crossings = {"loopback": 0, "requesters away": 2, "three hosts": 4}[row["placement"]]
        assert row["p50_us"] >= crossings * (row["delay_ms"] or 0) * 1000, row
