"""What each variant loses by itself, without reqrep's retries, when a responder is killed mid-run.

    python benchmarks/faults.py [--requests 3000] [--window 30] [--trials 3]

The response side is reqrep's own (a broker or manager server and three responders, processes); the
client here is deliberately plain: it keeps up to --window requests in flight, never sends anything
twice, and counts what never comes back. After a third of the replies, responder 1 gets SIGKILL.

- zmq: a DEALER sends numbered requests through the broker; its DEALER hands them out round-robin, so the
  killed REP takes with it the request it was handling and those already queued to it.
- native: requests go into the shared queue; the killed responder takes the one it was handling, and the
  manager's thread that was blocked in get() on its behalf takes one more from the queue and loses it
  when it tries to send it to a connection that is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import time
from pathlib import Path

import msgpack
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import native_impl  # noqa: E402
import zmq_impl  # noqa: E402
from shared.config import RunConfig, local_addresses  # noqa: E402
from shared.run import response_side  # noqa: E402
from zmq_impl.codec import request_id, split_id  # noqa: E402

QUIET_SECONDS = 2.0  # after the last request, this long without a reply ends the count


def victim_pid(roles, transport: str) -> int:
    return dict(roles.processes())[f"{transport} responder 1"]


def zmq_trial(config: RunConfig, roles, requests: int, window: int) -> dict:
    answered: set[int] = set()
    duplicates = 0
    with zmq.Context() as context, context.socket(zmq.DEALER) as client:
        client.linger = 0
        client.connect(config.address)
        sent = 0
        killed = False
        last_reply = time.monotonic()
        while time.monotonic() - last_reply < QUIET_SECONDS:
            while sent < requests and sent - len(answered) < window:
                client.send_multipart([b"", request_id(sent) + msgpack.packb(f"Hello, 0 {sent}")])
                sent += 1
            if client.poll(100):
                number, _ = split_id(client.recv_multipart()[-1])
                n = int.from_bytes(number[1:], "big")
                duplicates += n in answered
                answered.add(n)
                last_reply = time.monotonic()
            if not killed and len(answered) >= requests // 3:
                os.kill(victim_pid(roles, "zmq"), signal.SIGKILL)
                killed = True
    return {"sent": sent, "answered": len(answered), "lost": sent - len(answered), "duplicates": duplicates}


def native_trial(config: RunConfig, roles, requests: int, window: int) -> dict:
    board = native_impl.server.connect(config)
    key = native_impl.server.reply_key()
    requests_queue, replies = board.requests(), board.replies(key)
    answered: set[int] = set()
    duplicates = 0
    try:
        sent = 0
        killed = False
        last_reply = time.monotonic()
        while time.monotonic() - last_reply < QUIET_SECONDS:
            while sent < requests and sent - len(answered) < window:
                requests_queue.put((key, sent, f"Hello, 0 {sent}"))
                sent += 1
            try:
                n, _ = replies.get(True, 0.1)
            except queue.Empty:
                continue
            duplicates += n in answered
            answered.add(n)
            last_reply = time.monotonic()
            if not killed and len(answered) >= requests // 3:
                os.kill(victim_pid(roles, "native"), signal.SIGKILL)
                killed = True
    finally:
        native_impl.server.disconnect(replies, requests_queue, board)
    return {"sent": sent, "answered": len(answered), "lost": sent - len(answered), "duplicates": duplicates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    trials = {"zmq": (zmq_impl, zmq_trial), "native": (native_impl, native_trial)}
    for transport, (impl, trial) in trials.items():
        for number in range(1, args.trials + 1):
            config = RunConfig(transport=transport, requests=args.requests, requesters=1, responders=3,
                               codec="msgpack" if transport == "zmq" else "pickle", timeout=5.0)
            config = config.with_(**local_addresses(transport, "processes"))
            with response_side(config, impl) as roles:
                outcome = trial(config, roles, args.requests, args.window)
            print(json.dumps({"transport": transport, "trial": number, "window": args.window, **outcome}),
                  flush=True)


if __name__ == "__main__":
    main()
