"""The delaying relay (shared/core/relay.py): every byte arrives, in order, and a round trip through it takes at least
twice its one-way delay; a run through relays (`--delay`, `--responder-delay`) is verified and pays the delay
on every crossing, on both transports; where no network can stand between, the run is refused in a sentence."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from conftest import local_config, reqrep

from shared.core.ports import free_port
from shared.core.relay import Route, relay
from shared.core.run import run

pytestmark = pytest.mark.timeout(30)
DELAY_MS = 20
RUN_DELAY_MS = 5


def echo_once(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        while data := connection.recv(65536):
            connection.sendall(data)


def receive(connection: socket.socket, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = connection.recv(size - got)
        assert chunk, "the relay closed the connection"
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def test_the_relay_delays_each_way_and_loses_nothing():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(20)
        port = free_port()
        echo = threading.Thread(target=echo_once, args=(listener,))
        echo.start()
        ready, stop = threading.Event(), threading.Event()
        route = Route(("127.0.0.1", port), listener.getsockname()[:2], DELAY_MS / 1000)
        relaying = threading.Thread(target=relay, args=([route], ready, stop))
        relaying.start()
        try:
            assert ready.wait(10)
            with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
                began = time.perf_counter()
                client.sendall(b"ping")
                assert receive(client, 4) == b"ping"
                assert time.perf_counter() - began >= 2 * DELAY_MS / 1000
                payload = bytes(range(256)) * 8192  # 2 MiB, many chunks: order and completeness
                client.sendall(payload)
                assert receive(client, len(payload)) == payload
        finally:
            stop.set()
            relaying.join(timeout=10)
            echo.join(timeout=20)
    assert not relaying.is_alive()


@pytest.mark.parametrize("relays, crossings", [
    ({"delay_ms": RUN_DELAY_MS}, 2),  # requesters away: one relay, crossed out and back
    ({"responder_delay_ms": RUN_DELAY_MS}, 2),  # responders away
    ({"delay_ms": RUN_DELAY_MS, "responder_delay_ms": RUN_DELAY_MS}, 4),  # three hosts
])
def test_a_run_through_relays_is_verified_and_pays_the_delay(transport, relays, crossings):
    result = run(local_config(transport, requests=40, **relays))
    assert result.succeeded and (result.ok, result.failed, result.duplicated) == (40, 0, 0)
    assert result.latency_us["p50"] >= crossings * RUN_DELAY_MS * 1000
    assert result.to_json()["delay_ms"] == relays.get("delay_ms")


@pytest.mark.parametrize("arguments, message", [
    (["run", "zmq", "--concurrency", "threads", "--responder-delay", "1"],
     "--responder-delay needs a network between the responders and the broker: with --concurrency threads"),
    (["run", "zmq", "--example", "hello", "--responder-delay", "1"], "the hello example has no broker"),
    (["run", "native", "--delay", "-1"], "--delay must be zero or more milliseconds"),
    (["native", "request", "--delay", "1"], "--delay does not apply to `reqrep native request`"),
])
def test_a_delay_that_cannot_be_put_is_refused_in_a_sentence(arguments, message):
    done = reqrep(*arguments, "--requests", "5", "--quiet", env={"REQREP_AUTHKEY": "test-key"})
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
