"""The native server's door (native_impl/gate.py) against peers without the key: driven batch by batch where
the order of events matters, and as a whole server where what matters is that it goes on."""

from __future__ import annotations

import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from multiprocessing import connection

import pytest
from conftest import local_config
from flood import ReconnectingFlood, closed_by_peer, wait_until

from native_impl import gate
from native_impl.server import Board, _server_for
from shared.core.ports import free_port
from shared.core.run import response_side, run

pytestmark = pytest.mark.timeout(60)
KEY = b"gate-test-key"
BOUND = 2  # connections waiting for authentication, in the tests that drive a gate of their own


@pytest.fixture
def door(monkeypatch):
    """A gate of its own on a real listening socket, no more than BOUND connections waiting."""
    monkeypatch.setattr(gate, "PENDING_MAX", BOUND)
    server = _server_for(Board(), ("127.0.0.1", free_port()), KEY, stock=False)
    opened = gate.Gate(server, timeout=30.0)
    try:
        yield opened
    finally:
        opened.close_all()
        server.listener.close()


def dial(door: gate.Gate) -> socket.socket:
    return socket.create_connection(door.listener.getsockname()[:2], timeout=5)


def admitted(door: gate.Gate, sockets: list) -> socket.socket:
    """A new connection, once the gate has it waiting (the gate not at its bound yet)."""
    sockets.append(dial(door))
    waiting, deadline = len(door.pending), time.monotonic() + 5
    while len(door.pending) == waiting and time.monotonic() < deadline:
        door.step(0.1)
    assert len(door.pending) == waiting + 1
    return sockets[-1]


def test_an_event_for_a_connection_closed_earlier_in_the_same_batch_is_passed_over(door):
    """A new connection and a byte from the oldest waiting one come in one batch, the new one first: making
    room for it closes the oldest, and the byte that follows is for a connection no longer there."""
    sockets = []
    try:
        oldest = admitted(door, sockets)
        admitted(door, sockets)
        sockets.append(dial(door))  # the listener is ready first ...
        oldest.sendall(b"\0")  # ... then the oldest: epoll hands them over in that order
        assert wait_until(lambda: len(door.selector.select(0)) == 2, 5)
        door.step(0)
        assert closed_by_peer(oldest, time.monotonic() + 5)
        assert len(door.pending) == BOUND
    finally:
        for sock in sockets:
            sock.close()


def client_of(door: gate.Gate) -> connection.Connection:
    """A connection as the managers' clients hold one: blocking, with a deadline on each read."""
    sock = dial(door)
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
    return connection.Connection(sock.detach())


def test_a_client_that_answered_the_challenge_is_not_pushed_out_by_strangers(door):
    """Past the bound, the oldest connection that has not answered goes, not one that proved it holds the
    key: strangers that come back as fast as they are closed cannot keep a client from authenticating."""
    stop, strangers = threading.Event(), []
    running = threading.Thread(target=door.run, args=(stop, 0.05))
    running.start()
    client = client_of(door)
    try:
        connection.answer_challenge(client, KEY)  # the first half: the gate has its answer, and welcomed it
        strangers = [dial(door) for _ in range(BOUND + 2)]
        pushed_out = [closed_by_peer(sock, time.monotonic() + 5) for sock in strangers[:-1]]
        assert all(pushed_out), "the client was pushed out in place of a stranger"
        connection.deliver_challenge(client, KEY)  # the second half: the client was kept
    finally:
        stop.set()
        running.join(timeout=5)
        client.close()
        for sock in strangers:
            sock.close()


def limited(descriptors: int):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, descriptors))


def test_a_server_short_of_descriptors_says_so_once_and_goes_on_serving():
    """Out of descriptors (a soft limit of 1,024 is common, the gate's bound as high), each connection the
    server cannot accept closes the oldest waiting one, said once: a line per connection would let a flood
    fill the server's log, or block it on a pipe that nobody reads."""
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "REQREP_AUTHKEY": "test-key"}
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "native", "serve", "--address", address,
                               "--responders", "2", "--timeout", "30"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, preexec_fn=limited(100))
    try:
        assert "serving" in server.stdout.readline()
        host, port = address.split(":")
        with ReconnectingFlood(host, int(port), 120, interval=0.2) as flood:  # 100 descriptors: some 80 wait
            assert wait_until(lambda: flood.reopened >= 100 or server.poll() is not None, 15)
            done = subprocess.run([sys.executable, "-m", "shared.cli", "native", "request", "--address",
                                   address, "--requests", "200", "--quiet"], capture_output=True, text=True,
                                  env=env, timeout=30)
        assert done.returncode == 0, done.stderr
    finally:
        server.terminate()
        _, complaints = server.communicate(timeout=20)
    assert server.returncode == -signal.SIGTERM, complaints
    assert complaints.count("cannot accept a connection") == 1, complaints[:2000]


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset rather than a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# What peers without the key may do at the door, each to one connection: whatever the first bytes, the server
# closes it (or sees it gone) and goes on.
HOSTILE = {
    "reset before a word": b"",
    "reset mid-header": b"\0\0",
    "half-closed mid-header": b"\0\0",
    "oversize message": (2**31 - 1).to_bytes(4, "big"),
    "negative length": (-1).to_bytes(4, "big", signed=True) + bytes(8),
    "empty answer": bytes(4),
    "garbage": bytes(range(256)) * 2,
}


def test_hostile_first_bytes_each_end_one_connection_and_the_native_server_goes_on():
    config = local_config("native", timeout=30.0, requests=300)
    host, port = config.transport.host_port(config.address)
    with response_side(config):
        for kind, first in HOSTILE.items():
            peers = [socket.create_connection((host, port), timeout=5) for _ in range(30)]
            try:
                for sock in peers:
                    sock.sendall(first)
                    if kind.startswith("reset"):
                        reset(sock)
                    elif kind.startswith("half-closed"):
                        sock.shutdown(socket.SHUT_WR)
                alive = [sock for sock in peers if sock.fileno() != -1]
                assert all(closed_by_peer(sock, time.monotonic() + 10) for sock in alive), kind
            finally:
                for sock in peers:
                    sock.close()
        result = run(config, local_server=False)
    assert (result.ok, result.failed, result.duplicated) == (300, 0, 0), result.errors
