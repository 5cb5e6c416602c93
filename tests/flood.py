"""Connections that never speak, for the tests and for measuring: idle TCP connections and half-written
handshakes against a listening side, what its process holds meanwhile, and whether it closed them.

Run as a script, it measures what the issue asks for (not a test: it takes a minute and 10,000 descriptors):

    python tests/flood.py native --connections 10000 --deadline 10
    python tests/flood.py zmq --connections 10000 --deadline 10

It starts the response side (`reqrep native serve`, or `reqrep zmq broker` and `reqrep zmq responders`) with
`--timeout DEADLINE` on free loopback ports, opens the idle connections,
then trickles half-written handshakes while a verified `reqrep VARIANT request` runs, and prints as JSON the
server's threads, descriptors and resident memory (MiB) when idle, at the peak of the flood, and once the
deadline has passed, with the run's outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
KEY = {"REQREP_AUTHKEY": "flood-key"}
# A first message cut short: the managers' length header announcing 20 bytes, then 5 of them; ZMTP's
# greeting signature without its last bytes.
HALF_WRITTEN = {"native": (20).to_bytes(4, "big") + b"12345", "zmq": b"\xff\x00\x00\x00\x00"}


def open_idle(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` connections that will never say a word."""
    opened = []
    try:
        for _ in range(count):
            opened.append(socket.create_connection((host, port), timeout=10))
    except BaseException:
        close_all(opened)
        raise
    return opened


def half_written(host: str, port: int, transport: str) -> socket.socket:
    """A connection whose first message stops in the middle."""
    sock = socket.create_connection((host, port), timeout=10)
    try:
        sock.sendall(HALF_WRITTEN[transport])
    except BaseException:
        sock.close()
        raise
    return sock


def closed_by_peer(sock: socket.socket, deadline: float) -> bool:
    """Whether the other side closed `sock` by `deadline` (time.monotonic()); what it sent first is read
    and dropped (the challenge, the greeting)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            if not sock.recv(4096):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def holding(process: psutil.Process) -> dict:
    """What the server's process holds: threads, descriptors, resident MiB."""
    with process.oneshot():
        return {"threads": process.num_threads(), "descriptors": process.num_fds(),
                "rss_mib": round(process.memory_info().rss / 2**20, 1)}


def wait_until(check, seconds: float, poll: float = 0.05) -> bool:
    """Poll `check` until it holds or `seconds` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)  # a poll with a deadline: the server's state has no signal of its own
    return True


# ---- the measurement ------------------------------------------------------------------------------------
def reqrep(*arguments: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "shared.cli", *arguments], cwd=ROOT, env={**os.environ, **KEY},
                            **options)


def server_process(parent: subprocess.Popen, transport: str) -> psutil.Process:
    title = f"reqrep {transport} {'broker' if transport == 'zmq' else 'server'}"
    for child in psutil.Process(parent.pid).children(recursive=True):
        if child.cmdline()[:1] == [title]:
            return child
    raise RuntimeError(f"no process titled {title!r}")


def serving(*arguments: str) -> subprocess.Popen:
    started = reqrep(*arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in started.stdout:
        if "serving" in line:
            return started
    raise RuntimeError(f"reqrep {' '.join(arguments)} did not start")


def response_side(transport: str, address: str, deadline: float) -> list[subprocess.Popen]:
    """The server first, then its responders (zmq: on a back port of their own, not the default)."""
    if transport == "native":
        return [serving("native", "serve", "--address", address, "--responders", "5", "--timeout", str(deadline))]
    back = f"tcp://127.0.0.1:{free_port()}"
    broker = serving("zmq", "broker", "--front", address, "--back", back, "--timeout", str(deadline))
    try:
        return [broker, serving("zmq", "responders", "--back", back, "--responders", "5")]
    except BaseException:
        stop(broker)
        raise


def stop(*started: subprocess.Popen) -> None:
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def measure(transport: str, connections: int, deadline: float, requests: int, trickle_per_second: float) -> dict:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}" if transport == "zmq" else f"127.0.0.1:{port}"
    flag = "--front" if transport == "zmq" else "--address"
    started = response_side(transport, address, deadline)
    flood, trickle = [], []
    try:
        server = server_process(started[0], transport)
        report = {"transport": transport, "connections": connections, "deadline_s": deadline,
                  "idle": holding(server)}
        began = time.monotonic()
        flood = open_idle("127.0.0.1", port, connections)
        report["opened_in_s"] = round(time.monotonic() - began, 2)
        peak = holding(server)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "run.json"
            run = reqrep(transport, "request", flag, address, "--requests", str(requests), "--quiet", "--json",
                         str(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while run.poll() is None:  # half-written handshakes, a few a second, while the run goes on
                trickle.append(half_written("127.0.0.1", port, transport))
                now = holding(server)
                peak = {key: max(peak[key], now[key]) for key in peak}
                time.sleep(1 / trickle_per_second)  # the trickle's pace, not a synchronisation
            result = json.loads(out.read_text()) if out.exists() else {}
        report |= {"flood_peak": peak, "trickled": len(trickle),
                   "run": {key: result.get(key) for key in ("ok", "failed", "duplicated", "retries", "seconds")}}
        ends = time.monotonic() + deadline + 5
        report["closed_by_server"] = sum(closed_by_peer(sock, ends) for sock in flood + trickle)
        report["after_deadline"] = holding(server)
        return report
    finally:
        close_all(flood + trickle)
        stop(*reversed(started))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("transport", choices=("native", "zmq"))
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--deadline", type=float, default=10.0, help="the server's --timeout")
    parser.add_argument("--requests", type=int, default=20_000, help="the verified run's, during the flood")
    parser.add_argument("--trickle", type=float, default=20.0, help="half-written handshakes a second")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per connection, and then some
    print(json.dumps(measure(args.transport, args.connections, args.deadline, args.requests, args.trickle),
                     indent=2))


if __name__ == "__main__":
    main()
