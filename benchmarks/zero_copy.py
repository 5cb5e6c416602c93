"""Where zmq's zero-copy send pays: one frame of N bytes sent with `copy=True` and with `copy=False`, in turn.

    python benchmarks/zero_copy.py --rounds 5

A REQ socket sends the frame over TCP loopback to a REP socket in a forked process, which takes it without
copying and answers with an empty frame; the time per round trip is the median of a round's trips, and the
figure per size the median over rounds of the ratio zero-copy / copy (below 1: zero-copy is faster). A
zero-copy send hands libzmq the bytes object itself and has pyzmq's garbage-collector thread release it once
sent: a fixed cost per message that pays only when the copy it saves is longer. reqrep's threshold
(zmq_impl/connection.py ZERO_COPY_BYTES) is where the ratio falls below 1 and stays there.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import time

import zmq

from shared.config import free_port

SIZES = [2**k for k in range(10, 24)]  # 1 KiB to 8 MiB
LOOPBACK = "tcp://127.0.0.1"


def answer(port: int) -> None:
    with zmq.Context() as context, context.socket(zmq.REP) as socket:
        socket.linger = 0
        socket.bind(f"{LOOPBACK}:{port}")
        while True:
            socket.recv(copy=False)
            socket.send(b"")


def trips(socket: zmq.Socket, frame: bytes, copy: bool, count: int) -> float:
    """The median time of `count` round trips, in microseconds."""
    times = []
    for _ in range(count):
        began = time.perf_counter_ns()
        socket.send(frame, copy=copy)
        socket.recv()
        times.append(time.perf_counter_ns() - began)
    return statistics.median(times) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per size and round, about")
    args = parser.parse_args()
    port = free_port()
    pid = os.fork()  # before this process has a context: a forked child must not inherit one
    if pid == 0:
        try:
            answer(port)
        finally:
            os._exit(0)
    try:
        with zmq.Context() as context, context.socket(zmq.REQ) as socket:
            socket.linger, socket.rcvtimeo = 0, 10_000
            socket.copy_threshold = 0  # copy=False means zero-copy at every size: the point is to compare
            socket.connect(f"{LOOPBACK}:{port}")
            measure(socket, args)
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


def measure(socket: zmq.Socket, args: argparse.Namespace) -> None:
    for size in SIZES:
        frame = os.urandom(size)
        count = max(20, int(args.budget / max(size / 2e9, 50e-6)))
        trips(socket, frame, True, 10)  # warm: the connection, the buffers
        ratios, copied, shared = [], [], []
        for _ in range(args.rounds):
            with_copy, without = trips(socket, frame, True, count), trips(socket, frame, False, count)
            copied.append(with_copy)
            shared.append(without)
            ratios.append(without / with_copy)
        print(json.dumps({"bytes": size, "copy_us": round(statistics.median(copied), 1),
                          "zero_copy_us": round(statistics.median(shared), 1),
                          "zero_copy_over_copy": round(statistics.median(ratios), 3)}), flush=True)


if __name__ == "__main__":
    main()
