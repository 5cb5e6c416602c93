"""Both variants across a slow network: each role a command of its own, as on separate hosts, with the
delaying relay (benchmarks/relay.py) standing for the network between them, at 0 and 2 ms one way.

    python benchmarks/across_hosts.py [--requests 3000] [--requesters 5] [--responders 5] [--delays 0 2]
                                      [--rounds 1] [--json PATH]

Placements: `loopback`, no relay at all (the reference); `requesters away`, a relay between the requesters
and the broker or server, the responders beside it; `three hosts`, a relay on both sides of the broker or
server. Variants: zmq, zmq with --shared-connection, native. The same counts for all; each run's throughput
and latency are what `reqrep ... request --json` reports, the median over the rounds when there are several.
Everything listens on loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RELAY = Path(__file__).resolve().parent / "relay.py"
VARIANTS = {"zmq": ("zmq", []), "zmq, shared connection": ("zmq", ["--shared-connection"]), "native": ("native", [])}
PLACEMENTS = ("loopback", "requesters away", "three hosts")
READY_SECONDS = 60  # for any role to print its "serving" line
RUN_SECONDS = 900


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def started(command: list[str], ready: str, env: dict):
    """A process that is stopped (SIGTERM, a deadline, SIGKILL) when the block ends; yields its ready line."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        line = wait_for(process, ready)
        yield line
    finally:
        if process.poll() is None:
            stop(process)


def wait_for(process: subprocess.Popen, text: str) -> str:
    for line in process.stdout:  # the role prints its line once ready; the run's own timeout bounds the rest
        if text in line:
            return line
    raise SystemExit(f"{' '.join(process.args)} exited without printing {text!r}")


def reqrep(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "shared.cli", *arguments]


def relay_ports(lines: list[str]) -> list[int]:
    return [int(line.split()[3].rsplit(":", 1)[1]) for line in lines]


def one_run(variant: str, placement: str, delay_ms: float, args: argparse.Namespace) -> dict:
    transport, extra = VARIANTS[variant]
    env = {**os.environ, "REQREP_AUTHKEY": secrets.token_hex(16)}
    front, back = free_port(), free_port()
    if transport == "zmq":
        server = reqrep("zmq", "broker", "--front", f"tcp://127.0.0.1:{front}", "--back", f"tcp://127.0.0.1:{back}")
        back_of = back
    else:
        server = reqrep("native", "serve", "--address", f"127.0.0.1:{front}", "--responders", "0")
        back_of = front  # the native responders use the server's one port too
    targets = {"loopback": [], "requesters away": [front], "three hosts": [front, back_of]}[placement]
    with contextlib.ExitStack() as stack:
        stack.enter_context(started(server, "serving", env))
        request_port, responder_port = front, back_of
        if targets:
            routes = [arg for port in targets for arg in ("--route", f"127.0.0.1:0=127.0.0.1:{port}")]
            relay = subprocess.Popen([sys.executable, str(RELAY), "--delay-ms", str(delay_ms), *routes],
                                     stdout=subprocess.PIPE, text=True)
            stack.callback(stop, relay)
            ports = relay_ports([relay.stdout.readline() for _ in targets])
            request_port = ports[0]
            responder_port = ports[1] if len(ports) > 1 else back_of
        if transport == "zmq":
            responders = reqrep("zmq", "responders", "--connect", f"tcp://127.0.0.1:{responder_port}")
            request = reqrep("zmq", "request", "--connect", f"tcp://127.0.0.1:{request_port}", *extra)
        else:
            responders = reqrep("native", "responders", "--address", f"127.0.0.1:{responder_port}")
            request = reqrep("native", "request", "--address", f"127.0.0.1:{request_port}")
        stack.enter_context(started([*responders, "--responders", str(args.responders)], "serving", env))
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "result.json"
            subprocess.run([*request, "--requests", str(args.requests), "--requesters", str(args.requesters),
                            "--timeout", "30", "--quiet", "--json", str(out)], env=env, check=True,
                           capture_output=True, timeout=RUN_SECONDS)
            result = json.loads(out.read_text())
    if result["ok"] != args.requests:
        raise SystemExit(f"{variant}, {placement}: {result['ok']} of {args.requests} requests ok")
    return {"variant": variant, "placement": placement, "delay_ms": delay_ms if targets else None,
            "throughput_rps": result["throughput_rps"], "p50_ms": result["latency_us"]["p50"] / 1000,
            "p99_ms": result["latency_us"]["p99"] / 1000}


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def conditions(delays: list[float]) -> list[tuple[str, float]]:
    return [("loopback", 0.0)] + [(placement, delay) for placement in PLACEMENTS[1:] for delay in delays]


def median_rows(rounds: list[list[dict]]) -> list[dict]:
    rows = []
    for same in zip(*rounds, strict=True):
        row = dict(same[0])
        for key in ("throughput_rps", "p50_ms", "p99_ms"):
            row[key] = statistics.median(r[key] for r in same)
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| placement | one-way delay | variant | throughput (requests/s) | p50 (ms) | p99 (ms) |",
             "|---|---:|---|---:|---:|---:|"]
    for row in rows:
        delay = "none (no relay)" if row["delay_ms"] is None else f"{row['delay_ms']:g} ms"
        lines.append(f"| {row['placement']} | {delay} | {row['variant']} | {row['throughput_rps']:,.0f} | "
                     f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--requesters", type=int, default=5)
    parser.add_argument("--responders", type=int, default=5)
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 2.0], help="one-way, in ms")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    args = parser.parse_args()
    rounds = []
    for round_number in range(1, args.rounds + 1):
        rows = []
        for placement, delay in conditions(args.delays):
            for variant in VARIANTS:  # side by side within a condition: a noisy moment hits all three alike
                rows.append(one_run(variant, placement, delay, args))
                print(json.dumps({"round": round_number, **rows[-1]}), flush=True)
        rounds.append(rows)
    rows = median_rows(rounds)
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"rounds": rounds, "median": rows}, indent=2))


if __name__ == "__main__":
    main()
