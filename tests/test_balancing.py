"""Hung peers: a responder stopped mid-run costs the load-balancing broker and the native server the one
request it held, nothing more; the balancing broker drops a responder silent past its liveness, sends it
nothing after that, and takes it back when it speaks again; responders say when their broker goes silent
and when they hear it again. The hung processes are stopped with SIGSTOP, found by their titles."""

from __future__ import annotations

import json
import re
import signal
import time

import psutil
import pytest
from conftest import local_config, reqrep, role_process, start_reqrep, wait_for_line

from shared.core.config import CONCURRENCY
from shared.core.ports import free_port
from shared.core.run import run

pytestmark = pytest.mark.timeout(120)
HEARTBEAT, LIVENESS = 0.2, 3
WINDOW = HEARTBEAT * LIVENESS  # silence after which a peer is presumed lost
PACE = ("--heartbeat", str(HEARTBEAT), "--liveness", str(LIVENESS))


@pytest.mark.parametrize("transport, settings", [("zmq", {"broker": "balancing"}), ("native", {})],
                         ids=["zmq-balancing", "native"])
def test_a_hung_responder_holds_one_request_at_most(transport, settings):
    """Pull, or push to free responders only: the hung one keeps what it had taken, which its requester sends
    again after the timeout. (zmq.proxy pushes it its share of everything: test_faults keeps that one short.)"""
    config = local_config(transport, requests=4000, requesters=3, responders=3, timeout=1.0, fault="hang@25%",
                          **settings)
    result = run(config)
    assert "hung at" in result.fault
    assert result.succeeded and (result.ok, result.failed, result.duplicated) == (4000, 0, 0)
    assert result.retries <= 3  # the request it held (native: and the one its server thread had taken for it)


def requested(front: str, out, requests: int = 300) -> dict:
    """A verified run of the request side against the broker at `front`."""
    done = reqrep("zmq", "request", "--front", front, "--requests", str(requests), "--requesters", "3",
                  "--timeout", "1", "--quiet", "--json", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def test_balancing_drops_a_silent_responder_and_takes_it_back(tmp_path):
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    broker = start_reqrep("--verbose", "zmq", "broker", "--broker", "balancing", "--front", front, "--back", back,
                          *PACE)
    responders = start_reqrep("--verbose", "zmq", "responders", "--broker", "balancing", "--back", back,
                              "--responders", "2", *PACE)
    stopped = []
    try:
        wait_for_line(broker, "serving")
        wait_for_line(responders, "serving")
        for _ in range(2):
            wait_for_line(broker, "is ready", stream="stderr")
        hung = role_process(responders, "reqrep zmq responder 1")
        hung.suspend()
        stopped.append(hung)
        began = time.monotonic()
        lost = wait_for_line(broker, "lost responder 1", stream="stderr")
        detected = time.monotonic() - began
        silent = float(re.search(r"silent for ([\d.]+) s", lost)[1])
        assert round(WINDOW, 1) <= silent <= WINDOW + HEARTBEAT, lost  # past its liveness, a tick late at most
        assert detected < WINDOW + 2, detected  # and said at once (a loaded machine may be slow to run it)

        result = requested(front, tmp_path / "hung.json")  # no request goes to the hung one: none waits it out
        assert (result["ok"], result["failed"], result["retries"]) == (300, 0, 0)

        hung.resume()
        stopped.remove(hung)
        assert "responder 1" in wait_for_line(broker, "is back", stream="stderr")
        other = role_process(responders, "reqrep zmq responder 0")
        other.suspend()
        stopped.append(other)
        wait_for_line(broker, "lost responder 0", stream="stderr")
        result = requested(front, tmp_path / "back.json")  # responder 1 alone answers them all
        assert (result["ok"], result["failed"], result["retries"]) == (300, 0, 0)
        other.resume()
        stopped.remove(other)

        silenced = role_process(broker, "reqrep zmq broker")
        silenced.suspend()
        stopped.append(silenced)
        assert "silent for" in wait_for_line(responders, "lost the zmq broker", stream="stderr")
        silenced.resume()
        stopped.remove(silenced)
        wait_for_line(responders, "heard again from the zmq broker", stream="stderr")
    finally:
        for process in stopped:
            process.resume()  # a stopped process would not stop on SIGTERM
        for process in (responders, broker):
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_balancing_roles_stop_on_ctrl_c(concurrency, tmp_path):
    """The broker's loop and the responders' (processes, threads, tasks) end on Ctrl-C, and nothing stays."""
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    broker = start_reqrep("zmq", "broker", "--broker", "balancing", "--front", front, "--back", back)
    responders = start_reqrep("zmq", "responders", "--broker", "balancing", "--back", back, "--responders", "3",
                              "--concurrency", concurrency)
    try:
        wait_for_line(broker, "serving")
        wait_for_line(responders, "serving")
        result = requested(front, tmp_path / "run.json")
        assert (result["ok"], result["failed"]) == (300, 0)
        roles = [child for parent in (responders, broker) for child in psutil.Process(parent.pid).children()]
        for command in (responders, broker):
            command.send_signal(signal.SIGINT)
            assert command.wait(timeout=5) == -signal.SIGINT
        _, alive = psutil.wait_procs(roles, timeout=1)
        assert not alive
    finally:
        for command in (responders, broker):
            if command.poll() is None:
                command.terminate()
                command.wait(timeout=10)


@pytest.mark.parametrize("arguments, message", [
    (["run", "native", "--broker", "balancing"], "--broker does not apply to `reqrep run native`"),
    (["run", "zmq", "--heartbeat", "0.5"], "use them with --broker balancing"),
    (["run", "zmq", "--broker", "balancing", "--example", "hello"], "the hello example has no broker"),
    (["run", "zmq", "--broker", "balancing", "--heartbeat", "0"], "--heartbeat must be a positive number"),
    (["zmq", "responders", "--broker", "balancing", "--liveness", "0"], "--liveness must be 1 or more"),
    (["zmq", "request", "--broker", "balancing"], "--broker does not apply to `reqrep zmq request`"),
])
def test_broker_options_refused_where_they_do_not_fit(arguments, message):
    done = reqrep(*arguments)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
