"""Peers that speak the balancing broker's protocol wrongly, for the tests and for measuring: requests with no
envelope at its front, and fake responders at its back that say READY and keep heartbeating, but never
answer (`never`) or answer every request to a client that does not exist (`nobody`).

Run as a script, it measures what the issue asks for (not a test: the fakes take a minute and 10,000
descriptors):

    python tests/impostors.py fakes --fakes 5000 --timeout 2 --requests 5000
    python tests/impostors.py envelope-less --requests 5000

It starts `reqrep zmq broker --broker balancing` and `reqrep zmq responders` (5) on free loopback ports,
then the impostors: the fakes (after a warm-up run of 100 requests: the responders have answered before, as
a broker's in service have), once the broker knows them all, or five requests with no envelope; then a
verified `reqrep zmq request` while the fakes go on heartbeating, or while a trickle of requests with no
envelope goes on; and prints as JSON what the fakes were handed and the run's outcome.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import zmq
from flood import free_port, reqrep, serving, stop

READY, HEARTBEAT = b"\x01", b"\x02"  # balancing.py's frames, spelled out: an impostor imports nothing
NOBODY = b"\x00no such client"
WARM_UP = 100  # requests answered before the fakes come
KINDS = ("never", "nobody")


class FakeResponders:
    """`count` DEALER sockets at a balancing broker's `back` address, each a READY and then a heartbeat every
    `interval`, on a thread of their own; `kind` says what each does with a request. Counts the requests
    handed to each; `known` is set once every fake has heard a heartbeat from the broker, which knows them
    all then."""

    def __init__(self, back: str, count: int, kind: str = "never", interval: float = 1.0) -> None:
        self.back, self.count, self.kind, self.interval = back, count, kind, interval
        self.handed = [0] * count
        self.known, self.stopping = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.run, name="fake responders")
        self.failure: BaseException | None = None

    def __enter__(self) -> FakeResponders:
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)
        if self.failure is not None:
            raise self.failure

    def run(self) -> None:
        context = zmq.Context()
        context.set(zmq.MAX_SOCKETS, self.count + 64)
        fakes: dict[zmq.Socket, int] = {}
        try:
            poller, unheard = zmq.Poller(), set(range(self.count))
            for index in range(self.count):
                fake = context.socket(zmq.DEALER)
                fake.linger, fake.routing_id = 0, f"fake {index}".encode()
                fake.connect(self.back)
                fake.send(READY)
                poller.register(fake, zmq.POLLIN)
                fakes[fake] = index
            beat = time.monotonic()
            while not self.stopping.is_set():
                for fake, _ in poller.poll(50):
                    unheard.discard(fakes[fake])
                    self.take(fake, fakes[fake])
                if not unheard:
                    self.known.set()
                if time.monotonic() - beat >= self.interval:
                    beat = time.monotonic()
                    for fake in fakes:
                        send(fake, [HEARTBEAT])
        except BaseException as error:  # raised in the test's thread at the end of the block
            self.failure = error
        finally:
            for fake in fakes:
                fake.close()
            context.term()

    def take(self, fake: zmq.Socket, index: int) -> None:
        """Every message waiting on `fake`: a heartbeat, or a request to count and not to answer."""
        while True:
            try:
                frames = fake.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) > 1:
                self.handed[index] += 1
                if self.kind == "nobody":
                    send(fake, [NOBODY, b"", frames[-1]])


def send(fake: zmq.Socket, frames: list[bytes]) -> None:
    """A fake's message, or none if the broker takes nothing now: it is only a fake."""
    try:
        fake.send_multipart(frames, zmq.NOBLOCK)
    except zmq.Again:
        pass


def envelope_less(front: str, count: int, context: zmq.Context) -> None:
    """`count` one-frame messages at the broker's `front`, from a DEALER: no empty delimiter, no envelope."""
    with context.socket(zmq.DEALER) as dealer:
        dealer.linger = 1000  # they must leave before the socket closes
        dealer.connect(front)
        for number in range(count):
            dealer.send(b"no envelope %d" % number)


class Trickle:
    """One-frame messages at the front, `per_second` of them, on a thread, until the block ends."""

    def __init__(self, front: str, per_second: float) -> None:
        self.front, self.pause = front, 1 / per_second
        self.sent, self.stopping = 0, threading.Event()
        self.thread = threading.Thread(target=self.run, name="envelope-less trickle")

    def __enter__(self) -> Trickle:
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def run(self) -> None:
        with zmq.Context() as context:
            while not self.stopping.wait(self.pause):
                envelope_less(self.front, 1, context)
                self.sent += 1


# ---- the measurement ------------------------------------------------------------------------------------
def balancing_side(timeout: float) -> tuple[str, str, list[subprocess.Popen]]:
    front, back = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    broker = serving("zmq", "broker", "--broker", "balancing", "--front", front, "--back", back,
                     "--timeout", str(timeout))
    try:
        return front, back, [broker, serving("zmq", "responders", "--broker", "balancing", "--back", back,
                                             "--responders", "5")]
    except BaseException:
        stop(broker)
        raise


def verified_run(front: str, requests: int, timeout: float, window: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.json"
        began = time.monotonic()
        done = reqrep("zmq", "request", "--front", front, "--requests", str(requests), "--timeout",
                      str(timeout), "--window", str(window), "--quiet", "--json", str(out),
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, errors = done.communicate()
        result = json.loads(out.read_text()) if out.exists() else {}
    return {"exit": done.returncode, "wall_s": round(time.monotonic() - began, 2),
            **{key: result.get(key) for key in ("ok", "failed", "duplicated", "retries")},
            "stderr": errors.strip().splitlines()[-3:]}


def measure(what: str, fakes: int, kind: str, requests: int, timeout: float, window: int = 1) -> dict:
    front, back, started = balancing_side(timeout)
    try:
        if what == "fakes":
            warm_up = verified_run(front, WARM_UP, timeout)  # the responders answered before, as in service
            if warm_up["exit"] != 0:
                raise RuntimeError(f"the warm-up run failed: {warm_up}")
            with FakeResponders(back, fakes, kind) as impostors:
                began = time.monotonic()
                if not impostors.known.wait(120):
                    raise RuntimeError(f"the broker did not heartbeat all {fakes} fakes within 120 s")
                report = {"fakes": fakes, "kind": kind, "known_in_s": round(time.monotonic() - began, 2),
                          "run": verified_run(front, requests, timeout, window)}
            report |= {"handed_to_fakes": sum(impostors.handed), "most_to_one_fake": max(impostors.handed)}
            return report
        with zmq.Context() as context:
            envelope_less(front, 5, context)
        with Trickle(front, 20) as trickle:
            run = verified_run(front, requests, timeout, window)
        return {"envelope_less": 5 + trickle.sent, "run": run}
    finally:
        stop(*reversed(started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("fakes", "envelope-less"))
    parser.add_argument("--fakes", type=int, default=5000)
    parser.add_argument("--kind", choices=KINDS, default="never", help="what a fake does with a request")
    parser.add_argument("--requests", type=int, default=5000, help="the verified run's")
    parser.add_argument("--timeout", type=float, default=2.0, help="the broker's and the run's --timeout")
    parser.add_argument("--window", type=int, default=1, help="the run's requests in flight per requester")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # two descriptors a fake, and then some
    print(json.dumps(measure(args.what, args.fakes, args.kind, args.requests, args.timeout, args.window),
                     indent=2))


if __name__ == "__main__":
    main()
