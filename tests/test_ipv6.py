"""IPv6: both variants listen and connect on ::1 (the zmq broker of either kind, its responders, the request
router, the native server and its gate), in a run and in tandem commands, every reply verified."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import local_config, reqrep, start_reqrep, wait_for_line

from shared.core.ports import free_port
from shared.core.run import run

KEY = {"REQREP_AUTHKEY": "test-key"}
HOST = "::1"


def no_ipv6_loopback() -> str:
    """Why this machine cannot run the tests (empty: it can)."""
    if not socket.has_ipv6:
        return "this Python was built without IPv6"
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind((HOST, 0))
    except OSError as error:
        return f"this machine has no IPv6 loopback: binding ::1 fails ({error.strerror})"
    return ""


NO_IPV6 = no_ipv6_loopback()
pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(bool(NO_IPV6), reason=NO_IPV6)]


def test_the_port_picker_finds_a_free_port_on_ipv6_loopback():
    port = free_port(HOST)
    with socket.socket(socket.AF_INET6) as listening:
        listening.bind((HOST, port))


@pytest.mark.parametrize("concurrency", ["processes", "asyncio"])
def test_a_run_over_ipv6_loopback_is_verified(transport, concurrency):
    config = local_config(transport, host=HOST, requests=300, concurrency=concurrency)
    assert "[::1]:" in config.address
    result = run(config)
    assert (result.ok, result.failed, result.duplicated, result.retries) == (300, 0, 0, 0), result.errors


def test_the_hello_example_over_ipv6_loopback_is_verified(transport):
    """zmq: the responder's REP binds the front itself, and the requester's REQ connects to it."""
    config = local_config(transport, host=HOST, example="hello", requests=5, requesters=1, responders=1)
    result = run(config)
    assert (result.ok, result.failed, result.duplicated, result.retries) == (5, 0, 0, 0), result.errors


@pytest.mark.parametrize("settings", [{"broker": "balancing"}, {"shared_connection": True}],
                         ids=["balancing", "shared-connection"])
def test_a_zmq_run_over_ipv6_loopback_behind_each_broker_and_router_is_verified(settings):
    config = local_config("zmq", host=HOST, requests=300, **settings)
    assert "[::1]:" in config.settings.back_address
    result = run(config)
    assert (result.ok, result.failed, result.duplicated, result.retries) == (300, 0, 0, 0), result.errors


def test_tandem_serve_and_request_over_ipv6_loopback(transport, tmp_path):
    flag, address = ("--front", f"tcp://[::1]:{free_port(HOST)}") if transport == "zmq" else (
        "--address", f"[::1]:{free_port(HOST)}")
    server = start_reqrep(transport, "serve", flag, address, "--responders", "2", env=KEY)
    try:
        wait_for_line(server, "serving")
        out = tmp_path / "result.json"
        done = reqrep(transport, "request", flag, address, "--requests", "400", "--quiet", "--json", str(out),
                      env=KEY)
        assert done.returncode == 0, done.stderr
    finally:
        server.terminate()
        server.communicate(timeout=20)
    result = json.loads(out.read_text())
    assert (result["ok"], result["failed"], result["retries"]) == (400, 0, 0)
