"""Faults, on both variants where they apply: a responder killed mid-run costs nothing thanks to the
retries; a zmq broker killed and started again costs nothing; a native manager server killed ends the
run with a clear error within the timeout. The victims are found by their process titles."""

from __future__ import annotations

import json
import signal

import psutil
import pytest
from conftest import local_config, reqrep, role_process, start_reqrep, wait_for_line

from shared.core.errors import UsageError
from shared.core.ports import free_port
from shared.core.run import run

pytestmark = pytest.mark.timeout(90)
KEY = {"REQREP_AUTHKEY": "test-key"}
ENOUGH = {"zmq": "7000", "native": "2000"}  # a second or so of requests on this machine, in one round


def flowing(*arguments: str, env: dict | None = None):
    run = start_reqrep("--verbose", *arguments, env=env)
    wait_for_line(run, "requests flowing", stream="stderr")
    return run


@pytest.mark.parametrize("window", ["1", "8"])
def test_a_responder_killed_mid_run_loses_nothing(transport, window, tmp_path):
    out = tmp_path / "run.json"
    run = flowing("run", transport, "--requests", ENOUGH[transport], "--requesters", "3", "--responders", "3",
                  "--timeout", "1", "--window", window, "--rounds", "1", "--json", str(out))  # the round it hits
    victim = role_process(run, f"reqrep {transport} responder 1")
    victim.send_signal(signal.SIGKILL)
    assert run.wait(timeout=60) == 0, run.stderr.read()
    result = json.loads(out.read_text())
    assert (result["ok"], result["failed"]) == (int(ENOUGH[transport]), 0)


@pytest.mark.parametrize("spec, said", [("kill", "responder 1 killed at"),
                                        ("kill:responder 0@40%", "responder 0 killed"),
                                        ("hang@85%", "responder 1 hung at")])
def test_fault_option_inflicts_it_and_the_run_says_when(transport, spec, said):
    """`--fault` signals the responder itself; a hung one is continued at the end so that it stops. (zmq's
    proxy keeps handing a hung responder its share, one timeout each: a short run and timeout keep it quick.)"""
    config = local_config(transport, requests=300, requesters=2, responders=3, timeout=0.2, fault=spec,
                          service_time="fixed:2ms")  # 0.3 s at least: the run watches for the fault 10 times a second
    result = run(config)
    assert result.succeeded and (result.ok, result.failed) == (300, 0)
    assert said in result.fault and result.to_json()["fault_inflicted"] == result.fault


def test_a_fault_the_run_ends_before_says_so():
    done = reqrep("run", "native", "--requests", "50", "--fault", "kill@60s", "--rounds", "1")
    assert done.returncode == 0, done.stderr
    assert "kill@60s: not inflicted, the run ended first" in done.stdout


@pytest.mark.parametrize("spec, message", [("boom", "is not a fault"), ("kill:responder 3", "no responder 3"),
                                           ("kill@150%", "from 0% to 100%")])
def test_a_fault_that_cannot_be_inflicted_is_refused(spec, message):
    with pytest.raises(UsageError, match=message):
        local_config("zmq", responders=3, fault=spec)
    with pytest.raises(UsageError, match="needs a run with --concurrency processes"):
        local_config("native", concurrency="threads", fault="kill")


def test_zmq_broker_killed_and_started_again_loses_nothing(tmp_path):
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    broker = start_reqrep("zmq", "broker", "--front", front, "--back", back)
    responders = start_reqrep("zmq", "responders", "--back", back, "--responders", "2")
    out = tmp_path / "run.json"
    run = None
    try:
        wait_for_line(broker, "serving")
        wait_for_line(responders, "serving")
        run = flowing("zmq", "request", "--front", front, "--requests", "7000", "--timeout", "1", "--rounds", "1",
                      "--retries", "30", "--json", str(out))  # a loaded machine may take seconds to restart it
        role_process(broker, "reqrep zmq broker").send_signal(signal.SIGKILL)
        assert broker.wait(timeout=10) == 2  # the command says its broker died, and exits
        assert "zmq broker: exited unexpectedly (killed by SIGKILL)" in broker.stderr.read()
        broker = start_reqrep("zmq", "broker", "--front", front, "--back", back)  # the same addresses
        wait_for_line(broker, "serving")
        assert run.wait(timeout=60) == 0, run.stderr.read()
        result = json.loads(out.read_text())
        assert (result["ok"], result["failed"]) == (7000, 0)
        assert result["retries"] >= 1  # the requests in flight when the broker died were sent again
    finally:
        for process in (run, broker, responders):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def test_native_server_killed_ends_the_run_with_a_clear_error():
    address = f"127.0.0.1:{free_port()}"
    server = start_reqrep("native", "serve", "--address", address, "--responders", "2", env=KEY)
    run = None
    try:
        wait_for_line(server, "serving")
        run = flowing("native", "request", "--address", address, "--requests", "1000000", "--timeout", "2",
                      env=KEY)
        role_process(server, "reqrep native server").send_signal(signal.SIGKILL)
        assert run.wait(timeout=10) == 1
        output = run.stdout.read() + run.stderr.read()
        assert "lost the native server" in output and "Traceback" not in output
        assert server.wait(timeout=10) == 2
        assert "native server: exited unexpectedly (killed by SIGKILL)" in server.stderr.read()
    finally:
        for process in (run, server):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)


def test_a_parent_killed_outright_takes_its_roles_with_it(transport):
    address = f"tcp://127.0.0.1:{free_port()}" if transport == "zmq" else f"127.0.0.1:{free_port()}"
    flag = "--front" if transport == "zmq" else "--address"
    server = start_reqrep(transport, "serve", flag, address, "--responders", "2", env=KEY)
    wait_for_line(server, "serving")
    roles = psutil.Process(server.pid).children(recursive=True)
    assert len(roles) == 3
    server.kill()  # SIGKILL: no chance to stop anything itself
    server.wait(timeout=10)
    _, alive = psutil.wait_procs(roles, timeout=5)
    assert not alive
