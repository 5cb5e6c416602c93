"""Roles start in any order: a role whose broker or server is not there yet waits for it until --timeout,
saying so, and gives up after that in one sentence; zmq requesters may share one TCP connection through a
local request router. (Three separate hosts: test_hosts.py.)"""

from __future__ import annotations

import json
import time

import psutil
import pytest
from conftest import reqrep, start_reqrep, wait_for_line
from hosts import stop

from shared.core.ports import free_port

pytestmark = pytest.mark.timeout(60)
KEY = {"REQREP_AUTHKEY": "test-key"}
PEERS = {"zmq": "zmq broker", "native": "native server"}
POLL_SECONDS, POLL_DEADLINE = 0.05, 20.0


def address_of(transport: str) -> str:
    return f"tcp://127.0.0.1:{free_port()}" if transport == "zmq" else f"127.0.0.1:{free_port()}"


def test_a_request_started_before_its_server_waits_for_it(transport, tmp_path):
    address, out = address_of(transport), tmp_path / "result.json"
    request = start_reqrep(transport, "request", "--front" if transport == "zmq" else "--address", address,
                           "--requests", "300", "--requesters", "3", "--timeout", "30", "--quiet",
                           "--json", str(out), env=KEY)
    server = None
    try:
        wait_for_line(request, f"waiting for the {PEERS[transport]} at {address} (up to 30 s)", stream="stderr")
        server = start_reqrep(transport, "serve", "--front" if transport == "zmq" else "--address", address,
                              "--responders", "2", env=KEY)
        assert request.wait(timeout=40) == 0, request.stderr.read()
        result = json.loads(out.read_text())
        assert (result["ok"], result["failed"]) == (300, 0)
    finally:
        stop(request, server)


def test_responders_without_their_server_give_up_after_the_timeout(transport):
    address = address_of(transport)
    done = reqrep(transport, "responders", "--back" if transport == "zmq" else "--address", address,
                  "--responders", "2", "--timeout", "0.5", env=KEY)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"waiting for the {PEERS[transport]} at {address} (up to 0.5 s)" in done.stderr
    assert f"no {PEERS[transport]} answered at {address} within 0.5 s" in done.stderr.splitlines()[-1]


def connections(process: psutil.Process) -> list:
    """Its established TCP connections (psutil 6 renamed the call)."""
    try:
        listed = getattr(process, "net_connections", process.connections)(kind="tcp")
    except psutil.Error:
        return []
    return [c for c in listed if c.status == psutil.CONN_ESTABLISHED and c.raddr]


def test_shared_connection_carries_every_requester_over_one_connection(tmp_path):
    front_port = free_port()
    front, back, out = f"tcp://127.0.0.1:{front_port}", f"tcp://127.0.0.1:{free_port()}", tmp_path / "result.json"
    broker = start_reqrep("zmq", "broker", "--front", front, "--back", back)
    request = responders = None
    try:
        wait_for_line(broker, "serving")
        # No responders yet: the first requests wait in the broker, and the connections stay to be counted.
        request = start_reqrep("zmq", "request", "--front", front, "--shared-connection", "--requests", "300",
                               "--requesters", "3", "--timeout", "30", "--quiet", "--json", str(out))
        deadline = time.monotonic() + POLL_DEADLINE
        while True:  # a poll with a deadline: until the three requesters and the router are connected
            tree = psutil.Process(request.pid).children(recursive=True)
            linked = {p.pid: connections(p) for p in tree}
            if sum(1 for p in tree if linked[p.pid]) == 4 or time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        to_front = [pid for pid, held in linked.items() for c in held if c.raddr.port == front_port]
        assert len(to_front) == 1, linked  # the router's, and nobody else's
        assert psutil.Process(to_front[0]).cmdline()[:1] == ["reqrep zmq request router"]
        responders = start_reqrep("zmq", "responders", "--back", back, "--responders", "2")
        assert request.wait(timeout=40) == 0, request.stderr.read()
        result = json.loads(out.read_text())
        assert (result["ok"], result["failed"], result["shared_connection"]) == (300, 0, True)
    finally:
        stop(request, responders, broker)
