"""A peer that sends every reply twice, 5 ms apart: the requester drops each duplicate, counts it, and answers
every request, in lockstep (where a REQ socket must send again after a stray reply) and with a window."""

from __future__ import annotations

import heapq
import threading
import time

import pytest
import zmq
from conftest import local_config

from shared.core.run import response_side, run

pytestmark = pytest.mark.timeout(120)

AGAIN_MS = 5  # the duplicate follows its reply by this much


class Duplicator:
    """A fake broker on `front`: a ROUTER that speaks the front protocol, hands each request to the real broker
    at `back` and sends every reply back twice, the second AGAIN_MS later. Runs on a thread until left."""

    def __init__(self, front: str, back: str) -> None:
        self.front, self.back, self.duplicated = front, back, 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.relay, name="duplicator")
        self.context = zmq.Context()
        self.outer = self.context.socket(zmq.ROUTER)
        self.outer.linger = 0
        self.outer.sndhwm = 0
        self.outer.bind(front)
        self.inner = self.context.socket(zmq.DEALER)
        self.inner.linger = 0
        self.inner.connect(back)

    def __enter__(self) -> Duplicator:
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)
        self.outer.close()
        self.inner.close()
        self.context.term()

    def relay(self) -> None:
        poller = zmq.Poller()
        poller.register(self.outer, zmq.POLLIN)
        poller.register(self.inner, zmq.POLLIN)
        later: list = []  # (when, order, frames): the duplicates due
        while not self.stopping.is_set():
            now = time.monotonic()
            while later and later[0][0] <= now:
                self.outer.send_multipart(heapq.heappop(later)[2])
                self.duplicated += 1
            wait = 50 if not later else max(0, (later[0][0] - now) * 1000)
            for socket, _ in poller.poll(wait):
                frames = socket.recv_multipart()
                if socket is self.outer:
                    self.inner.send_multipart(frames)
                else:
                    self.outer.send_multipart(frames)
                    heapq.heappush(later, (time.monotonic() + AGAIN_MS / 1000, id(frames), frames))


@pytest.mark.parametrize("concurrency", ["processes", "threads", "asyncio"])
@pytest.mark.parametrize("window", [1, 8])
def test_every_reply_twice_every_request_answered_and_the_duplicates_counted(window, concurrency):
    real = local_config("zmq", responders=2)
    fake = local_config("zmq", requesters=2, requests=200, window=window, concurrency=concurrency, timeout=5.0)
    with response_side(real), Duplicator(fake.address, real.address) as peer:
        began = time.monotonic()
        result = run(fake, local_server=False)
        took = time.monotonic() - began
    assert result.ok == 200 and result.failed == 0, result.failures
    assert result.retries == 0
    assert result.duplicated > 0
    assert result.duplicated <= peer.duplicated
    assert took < fake.timeout  # not one timeout waited out


class Tally:
    """What recover() tells a tally, recorded."""

    def __init__(self) -> None:
        self.strays, self.retries, self.answered, self.reasons = 0, 0, 0, []

    def stray(self, seen: int) -> None:
        self.strays += 1

    def retry(self) -> None:
        self.retries += 1

    def give_up(self, reason: str) -> None:
        self.reasons.append(reason)


@pytest.mark.parametrize("listens", [False, True])
def test_a_stray_reply_costs_no_retry_and_the_give_up_sentence_counts_the_strays(monkeypatch, listens):
    from types import SimpleNamespace

    from shared.core import lockstep

    now = [100.0]
    monkeypatch.setattr(lockstep.time, "monotonic", lambda: now[0])
    config = SimpleNamespace(timeout=1.0, retries=1, attempts=2, address="tcp://127.0.0.1:1")
    framing = SimpleNamespace(answers=lambda reply, tag: reply == tag, listens=listens)
    tally = Tally()
    exchange = lockstep.recover(config, framing, tally, "request 7", 7, 6, 7)  # 6: the duplicate of a reply
    again = None if listens else "request 7"  # a REQ socket sends again to hear again, and that costs no try
    assert next(exchange) == again
    assert exchange.send(5) == again
    now[0] += 1.5  # this try's deadline passes with no right reply: the one retry
    assert exchange.send(None) == "request 7"
    assert tally.retries == 1 and tally.strays == 2
    now[0] += 1.5
    with pytest.raises(StopIteration) as ended:
        exchange.send(None)
    assert ended.value.value is None
    assert tally.reasons == ["no reply within 1 s (--timeout) from tcp://127.0.0.1:1 (sent 2 times; 2 replies to other "
                             "requests came)"]
