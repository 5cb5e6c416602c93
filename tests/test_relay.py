"""The benchmark's delaying relay (benchmarks/relay.py): every byte arrives, in order, and a round trip
through it takes at least twice its one-way delay."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hosts import stop

pytestmark = pytest.mark.timeout(30)
RELAY = Path(__file__).resolve().parents[1] / "benchmarks" / "relay.py"
DELAY_MS = 20


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
        echo = threading.Thread(target=echo_once, args=(listener,))
        echo.start()
        target = listener.getsockname()[1]
        relay = subprocess.Popen([sys.executable, str(RELAY), "--delay-ms", str(DELAY_MS), "--lifetime", "60",
                                  "--route", f"127.0.0.1:0=127.0.0.1:{target}"], stdout=subprocess.PIPE, text=True)
        try:
            line = relay.stdout.readline()
            assert line.startswith("relay serving on 127.0.0.1:"), line
            port = int(line.split()[3].rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
                began = time.perf_counter()
                client.sendall(b"ping")
                assert receive(client, 4) == b"ping"
                assert time.perf_counter() - began >= 2 * DELAY_MS / 1000
                payload = bytes(range(256)) * 8192  # 2 MiB, many chunks: order and completeness
                client.sendall(payload)
                assert receive(client, len(payload)) == payload
        finally:
            stop(relay)
            echo.join(timeout=20)
    assert relay.returncode == 0
