"""Connections that never speak, for the tests and for measuring: idle TCP connections and half-written
handshakes against a listening side, what its process holds meanwhile, and whether it closed them.

Run as a script, it measures what the issue asks for (not a test: it takes a minute and 10,000 descriptors):

    python tests/flood.py native --connections 10000 --deadline 10
    python tests/flood.py zmq --connections 10000 --deadline 10
    python tests/flood.py native --reconnecting --connections 1100 --interval 0.5 --seconds 30

It starts the response side (`reqrep native serve`, or `reqrep zmq broker` and `reqrep zmq responders`) with
`--timeout DEADLINE` on free loopback ports, opens the idle connections,
then trickles half-written handshakes while a verified `reqrep VARIANT request` runs, and prints as JSON the
server's threads, descriptors and resident memory (MiB) when idle, at the peak of the flood, and once the
deadline has passed, with the run's outcome. With --reconnecting, the connections each write a byte every
--interval instead, and come back as soon as the server closes them; verified runs go on one after the other
for --seconds, and it prints their outcome and whether the server is still up.
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
import threading
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


class ReconnectingFlood:
    """`count` connections, each writing one byte every `interval` seconds, and opened again at its next
    byte when the other side has closed it: a peer without the key, as patient and as stubborn as it can be.
    One thread drives them all, from the start of the `with` block to its end."""

    def __init__(self, host: str, port: int, count: int, interval: float, byte: bytes = b"\x00") -> None:
        self.address, self.count, self.interval, self.byte = (host, port), count, interval, byte
        self.due: dict[socket.socket, float] = {}  # each connection's next byte
        self.reopened = self.written = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="reconnecting flood")

    def __enter__(self) -> ReconnectingFlood:
        began = time.monotonic()
        try:
            for index in range(self.count):  # the bytes spread over one interval, not all at once
                self.due[self.open()] = began + self.interval * index / self.count
        except BaseException:
            self.close_all()
            raise
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        self.close_all()

    def open(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=10)
        sock.setblocking(False)
        return sock

    def run(self) -> None:
        while not self.stopping.wait(self.interval / 20):  # the pace of the flood, not a synchronisation
            now = time.monotonic()
            for sock in [sock for sock, due in self.due.items() if due <= now]:
                del self.due[sock]
                try:
                    sock = self.next_byte(sock)
                except OSError:  # refused, or out of descriptors: this one is lost, the others go on
                    continue
                self.due[sock] = now + self.interval

    def next_byte(self, sock: socket.socket) -> socket.socket:
        """One byte on `sock`, or on a new connection if the other side closed it."""
        try:
            while sock.recv(4096):  # a challenge, a refusal: read and dropped
                pass
            closed = True  # the end of the stream
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        if closed:
            sock.close()
            sock = self.open()
            self.reopened += 1
        try:
            sock.send(self.byte)
            self.written += 1
        except OSError:
            pass  # closed meanwhile: found at its next byte
        return sock

    def close_all(self) -> None:
        for sock in self.due:
            sock.close()
        self.due.clear()


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
    address = endpoint(transport, port)
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
            run = request(transport, address, requests, folder)
            while run.poll() is None:  # half-written handshakes, a few a second, while the run goes on
                trickle.append(half_written("127.0.0.1", port, transport))
                now = holding(server)
                peak = {key: max(peak[key], now[key]) for key in peak}
                time.sleep(1 / trickle_per_second)  # the trickle's pace, not a synchronisation
            result = outcome(run, folder)
        report |= {"flood_peak": peak, "trickled": len(trickle), "run": result}
        ends = time.monotonic() + deadline + 5
        report["closed_by_server"] = sum(closed_by_peer(sock, ends) for sock in flood + trickle)
        report["after_deadline"] = holding(server)
        return report
    finally:
        close_all(flood + trickle)
        stop(*reversed(started))


def measure_reconnecting(transport: str, connections: int, interval: float, seconds: float, deadline: float,
                         requests: int) -> dict:
    """The reconnecting flood for `seconds`, and verified runs of `requests` one after the other meanwhile;
    whether the server is still up at the end."""
    port = free_port()
    address = endpoint(transport, port)
    started = response_side(transport, address, deadline)
    try:
        report = {"transport": transport, "connections": connections, "interval_s": interval,
                  "seconds": seconds, "deadline_s": deadline}
        runs = []
        with ReconnectingFlood("127.0.0.1", port, connections, interval) as flood, \
                tempfile.TemporaryDirectory() as folder:
            ends = time.monotonic() + seconds
            while time.monotonic() < ends and started[0].poll() is None:
                run = request(transport, address, requests, folder)
                run.wait()
                runs.append(outcome(run, folder))
            report |= {"reopened": flood.reopened, "bytes_written": flood.written}
        report["server_up"] = started[0].poll() is None
        report["runs"] = len(runs)
        for key in ("ok", "failed", "duplicated", "retries"):
            report[key] = sum(run.get(key) or 0 for run in runs)
        report["run_seconds"] = [run["seconds"] for run in runs]
        report["errors"] = sorted({error for run in runs for error in run["errors"]})
        return report
    finally:
        stop(*reversed(started))


def endpoint(transport: str, port: int) -> str:
    return f"tcp://127.0.0.1:{port}" if transport == "zmq" else f"127.0.0.1:{port}"


def request(transport: str, address: str, requests: int, folder: str) -> subprocess.Popen:
    """A verified `reqrep VARIANT request`, its results into `folder`."""
    flag = "--front" if transport == "zmq" else "--address"
    out = Path(folder) / "run.json"
    out.unlink(missing_ok=True)
    return reqrep(transport, "request", flag, address, "--requests", str(requests), "--quiet", "--json",
                  str(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def outcome(run: subprocess.Popen, folder: str) -> dict:
    """What the ended `run` of `request` says: its counts, exit status and complaint."""
    _, complaint = run.communicate()
    out = Path(folder) / "run.json"
    result = json.loads(out.read_text()) if out.exists() else {}
    return {**{key: result.get(key) for key in ("ok", "failed", "duplicated", "retries", "seconds")},
            "exit": run.returncode, "errors": [line for line in complaint.splitlines() if line.strip()]}


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
    parser.add_argument("--reconnecting", action="store_true",
                        help="connections that write a byte every --interval and come back when closed, for "
                             "--seconds, verified runs of --requests one after the other meanwhile")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="with --reconnecting: seconds between bytes")
    parser.add_argument("--seconds", type=float, default=30.0, help="with --reconnecting: the flood's length")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per connection, and then some
    if args.reconnecting:
        report = measure_reconnecting(args.transport, args.connections, args.interval, args.seconds,
                                      args.deadline, args.requests)
    else:
        report = measure(args.transport, args.connections, args.deadline, args.requests, args.trickle)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
