"""The parity tests: one behaviour per test, the same assertions for both transports (the fixture
`transport` runs each test on zmq and on native), over real processes, sockets and managers on loopback."""

from __future__ import annotations

import math
import time

import pytest
from conftest import TRANSPORTS, local_config, replies_of

from shared.core.config import CONCURRENCY
from shared.core.run import response_side, run
from shared.core.workload import WORKLOADS

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_hello_example_answers_its_five_requests(transport, concurrency):
    config = local_config(transport, example="hello", requests=5, requesters=1, responders=1,
                          concurrency=concurrency)
    result = run(config)
    assert (result.ok, result.failed, result.duplicated) == (5, 0, 0)
    assert result.succeeded and not result.errors


@pytest.mark.parametrize("workload", ["echo", "rpc"])
@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_router_example_verifies_every_reply(transport, concurrency, workload):
    config = local_config(transport, requests=301, requesters=3, responders=2, concurrency=concurrency,
                          workload=workload)
    result = run(config)
    assert (result.ok, result.failed, result.duplicated) == (301, 0, 0)
    assert result.answered == 301
    assert result.seconds > 0 and result.throughput_rps > 0
    assert 0 < result.latency_us["p50"] <= result.latency_us["p99"] <= result.latency_us["max"]
    assert result.rss_peak_mib_total > 0 and result.cpu_seconds > 0


def test_processes_mode_measures_every_process(transport):
    config = local_config(transport, requests=50, requesters=2, responders=3)
    result = run(config)
    roles = sorted(usage.role for usage in result.roles)
    assert {usage.kind for usage in result.roles} == {"parent", TRANSPORTS[transport].server_role, "responder",
                                                      "requester"}
    server = {"zmq": "zmq broker", "native": "native server"}[transport]
    assert roles == sorted(["parent", server, *(f"{transport} responder {i}" for i in range(3)),
                            *(f"{transport} requester {i}" for i in range(2))])
    assert all(usage.rss_peak_mib > 5 for usage in result.roles)
    # Forked roles share most of their pages: each one's PSS counts its share of them, its RSS all of them.
    assert all(0 < usage.uss_peak_mib <= usage.pss_peak_mib < usage.rss_peak_mib for usage in result.roles)
    assert 0 < result.pss_peak_mib_total < result.rss_peak_mib_total / 2
    assert result.pss_timeline and result.to_json()["pss_peak_mib_by_kind"].keys() == {
        "parent", TRANSPORTS[transport].server_role, "responder", "requester"}


@pytest.mark.parametrize("concurrency", ["threads", "asyncio"])
def test_one_process_modes_measure_their_one_process(transport, concurrency):
    result = run(local_config(transport, requests=100, requesters=2, responders=2, concurrency=concurrency))
    assert [(usage.role, usage.kind) for usage in result.roles] == [("process (all roles)", "process")]
    usage = result.roles[0]
    assert 0 < usage.uss_peak_mib <= usage.pss_peak_mib <= usage.rss_peak_mib


def sample_requests(workload: str) -> list:
    make = WORKLOADS[workload].request
    return [make(requester_id, n) for requester_id in (0, 7) for n in range(0, 100, 7)] + [make(1, 98), make(1, 99)]


@pytest.mark.parametrize("workload", ["echo", "rpc"])
def test_same_requests_give_identical_replies_on_both_transports(workload):
    requests = sample_requests(workload)
    replies = {}
    for name in TRANSPORTS:
        config = local_config(name, responders=2)
        with response_side(config):
            replies[name] = replies_of(config, requests)
    assert replies["zmq"] == replies["native"]
    assert replies["zmq"] == [WORKLOADS[workload].expected(r) for r in requests]


def test_rpc_replies_carry_status_codes(transport):
    requests = [{"method": "POST", "path": "/sum", "body": [1, 2, 3]},
                {"method": "GET", "path": "/nowhere", "body": None},
                {"method": "POST", "path": "/divide", "body": [1, 0]},
                {"method": "POST", "path": "/echo", "body": "héllo ✓"},
                {"path": "/echo"}]
    config = local_config(transport, responders=1)
    with response_side(config):
        replies = replies_of(config, requests)
    assert [reply["status"] for reply in replies] == [200, 404, 500, 200, 400]
    assert replies[0]["body"] == 6
    assert replies[2]["body"].startswith("ZeroDivisionError")
    assert replies[3]["body"] == "héllo ✓"


def test_a_request_the_handler_rejects_gets_an_error_reply_and_the_responder_goes_on(transport):
    config = local_config(transport, responders=1)
    with response_side(config):
        bad, good = replies_of(config, [12345, "Hello, 0 0"])
    assert bad.failed and "TypeError" in bad.error
    assert good == "Hello, 0 0 - echoed!"


def test_uneven_shares_add_up(transport):
    config = local_config(transport, requests=11, requesters=3, responders=1)
    result = run(config)
    assert result.ok == 11 and result.succeeded
    assert sorted(config.share(i) for i in range(3)) == [3, 4, 4]
    assert not math.isnan(result.seconds)


@pytest.mark.parametrize("concurrency, busiest", [("threads", {"requester", "responder"}),
                                                  ("asyncio", {"event loop (every task)"})])
def test_one_process_modes_measure_cpu_by_thread(transport, concurrency, busiest):
    config = local_config(transport, requests=3000, requesters=3, responders=2, concurrency=concurrency)
    result = run(config)
    assert result.succeeded
    assert busiest <= result.thread_cpu.keys()
    assert sum(result.thread_cpu[kind] for kind in busiest) > 0  # the kernel counts in ticks of 10 ms
    assert sum(result.thread_cpu.values()) <= result.cpu_seconds * 1.05  # a share of the process, not more
    assert result.to_json()["cpu_seconds_by_thread"] == result.thread_cpu


@pytest.mark.parametrize("concurrency", ["processes", "threads"])
def test_a_run_counts_its_own_cpu_not_what_its_process_spent_before(transport, concurrency):
    """compare and bench run many runs in one process: each run's CPU seconds start at its own start."""
    burn_until = time.process_time() + 1.0
    while time.process_time() < burn_until:  # a second of CPU spent before the run, in this process
        pass
    result = run(local_config(transport, requests=300, requesters=2, responders=2, concurrency=concurrency))
    assert result.succeeded
    own = next(usage for usage in result.roles if usage.kind in ("process", "parent"))
    assert own.cpu_seconds < 0.9, f"{own.role} counted {own.cpu_seconds:.2f} s: the CPU spent before the run too"
    assert result.thread_cpu.get("main (watching the run)", 0.0) < 0.9
