"""The load models on both variants: a window of requests in flight, requests on a schedule (open loop),
padded payloads, the native tuning switches; every reply still verified."""

from __future__ import annotations

import json

import pytest
from conftest import local_config, reqrep

from shared.core.config import CONCURRENCY
from shared.core.run import run

pytestmark = pytest.mark.timeout(90)


def verified(result, planned: int) -> None:
    assert (result.ok, result.failed, result.duplicated) == (planned, 0, 0), result.failures + result.errors
    assert result.succeeded


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_a_window_of_requests_in_flight(transport, concurrency):
    config = local_config(transport, requests=1200, requesters=3, responders=2, window=8, concurrency=concurrency)
    result = run(config)
    verified(result, 1200)
    assert result.parameters["window"] == 8


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_native_batches(concurrency):
    config = local_config("native", requests=1500, requesters=3, responders=2, window=16, batch=True,
                          concurrency=concurrency)
    verified(run(config), 1500)


def test_native_batches_in_lockstep_and_with_the_rpc_workload():
    config = local_config("native", requests=300, requesters=2, responders=2, batch=True, workload="rpc")
    verified(run(config), 300)


@pytest.mark.parametrize("concurrency", ["processes", "asyncio"])
def test_open_loop_keeps_its_schedule(transport, concurrency):
    config = local_config(transport, requests=400, requesters=2, responders=2, rate=400.0, concurrency=concurrency)
    result = run(config)
    verified(result, 400)
    # 400 requests at 400 per second take a second at least, however fast the server: the schedule rules
    assert result.seconds >= 0.99
    assert result.latency_us["p50"] > 0


@pytest.mark.parametrize("size", [1024, 40_000])
def test_padded_payloads(transport, size):
    config = local_config(transport, requests=200, requesters=2, responders=2, payload_bytes=size)
    result = run(config)
    verified(result, 200)
    assert result.bytes_per_request["request"] >= size


def test_stock_managers_still_work():
    config = local_config("native", requests=200, requesters=2, responders=2, stock_managers=True)
    verified(run(config), 200)


def test_latency_recording_can_be_turned_off(transport):
    config = local_config(transport, requests=300, requesters=2, responders=2, record_latency=False)
    result = run(config)
    verified(result, 300)
    assert result.latency_us["p50"] == 0


def test_factorial_compare_runs_four_paths(tmp_path):
    out = tmp_path / "factorial.json"
    done = reqrep("compare", "--factorial", "--requests", "200", "--requesters", "2", "--responders", "2",
                  "--quiet", "--json", str(out))
    assert done.returncode == 0, done.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [(r["transport"], r["codec"]) for r in runs] == [("zmq", "msgpack"), ("zmq", "pickle"),
                                                            ("native", "pickle"), ("native", "msgpack")]
    assert all(r["ok"] == 200 for r in runs)
    assert "transport x encoding" in done.stdout
    for key in ("p50", "p90", "p99", "p999", "max"):
        assert key in runs[0]["latency_us"]
    assert runs[0]["bytes_per_request"]["total"] > 0 and runs[3]["bytes_per_request"]["messages"] == 8


@pytest.mark.timeout(180)
@pytest.mark.parametrize("window", [1000, 10_000, 100_000])
def test_a_zmq_window_sweep_up_to_100000_in_flight_loses_no_reply(window):
    # every requester fills its window: a broker or responder that dropped replies at a high-water mark
    # would show as retries (each a timeout waited out), not as an error
    config = local_config("zmq", requests=2 * window, requesters=2, responders=2, window=window, timeout=10.0)
    result = run(config)
    verified(result, 2 * window)
    assert result.retries == 0
