"""Hostile peers at the balancing broker: requests with no envelope or of the wrong shape at its front, odd
frames at its back, and fake responders that keep heartbeating but never answer, or answer to a client that
does not exist. Whatever they do, the broker hands requests to responders that answer, and a verified run
meanwhile loses nothing. The 5,000-fake figure is a measurement: `python tests/impostors.py fakes`."""

from __future__ import annotations

import json
import time

import msgpack
import pytest
import zmq
from conftest import local_config, reqrep, start_reqrep, wait_for_line
from impostors import HEARTBEAT, READY, FakeResponders, Trickle, envelope_less

from shared.core.config import CONCURRENCY
from shared.core.ports import free_port
from shared.core.run import response_side, run
from zmq_impl.codec import decode_msgpack
from zmq_impl.roster import Roster

pytestmark = pytest.mark.timeout(120)
PACE = {"heartbeat": 0.2, "liveness": 3}
HELLO = msgpack.packb("Hello, 0 1")
ECHOED = msgpack.packb("Hello, 0 1 - echoed!")


def balancing(**changes):
    return local_config("zmq", broker="balancing", **{**PACE, **changes})


def verified(config, requests: int, **changes):
    """A run of the request side against the running response side of `config`."""
    return run(config.with_(requests=requests, **changes), local_server=False)


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_requests_with_no_envelope_are_dropped_at_the_front_and_said(concurrency, tmp_path):
    """Five one-frame messages, then a trickle of them during a verified run: each is dropped at the front
    (no reply could reach its sender) and logged, and no responder is lost to them."""
    front = f"tcp://127.0.0.1:{free_port()}"
    serve = start_reqrep("zmq", "serve", "--broker", "balancing", "--front", front, "--responders", "3",
                         "--concurrency", concurrency)
    try:
        wait_for_line(serve, "serving")
        with zmq.Context() as context:
            envelope_less(front, 5, context)
        out = tmp_path / "run.json"
        with Trickle(front, 50):
            done = reqrep("zmq", "request", "--front", front, "--requests", "1000", "--timeout", "1",
                          "--quiet", "--json", str(out))
        assert done.returncode == 0, done.stderr
        result = json.loads(out.read_text())
        assert (result["ok"], result["failed"], result["retries"]) == (1000, 0, 0)
    finally:
        serve.terminate()
        _, errors = serve.communicate(timeout=10)
    assert "dropped a request with no envelope" in errors, errors


def test_each_shape_at_the_front_gets_its_reply_or_is_dropped():
    config = balancing(responders=2)
    shapes = [  # (what a DEALER sends, what it gets back: None for nothing)
        ([b"no delimiter"], None),
        ([b"two frames", b"no delimiter"], None),
        ([b"", HELLO, b"an extra frame"], "a request is one frame, this one had 2"),
        ([b""], "a request is one frame, this one had 0"),
        ([b"", b""], 400),
        ([b"a router's frame", b"", HELLO], [b"a router's frame", b"", ECHOED]),
        ([b"", HELLO], [b"", ECHOED]),
    ]
    with response_side(config), zmq.Context() as context, context.socket(zmq.DEALER) as dealer:
        dealer.linger, dealer.rcvtimeo = 0, 5000
        dealer.connect(config.address)
        for frames, expected in shapes:
            dealer.send_multipart(frames)
            if expected is None:
                continue
            reply = dealer.recv_multipart()
            if isinstance(expected, list):
                assert reply == expected, frames
            else:
                assert reply[0] == b"" and len(reply) == 2, frames
                error = decode_msgpack(reply[1])
                assert error["status"] == 400, frames
                assert str(expected) in f"{error['status']} {error['body']}", frames
        assert dealer.poll(200) == 0  # nothing came for the ones dropped
        result = verified(config, 500)
    assert (result.ok, result.failed, result.retries) == (500, 0, 0)


def test_odd_frames_at_the_back_free_no_one():
    """A READY or a heartbeat with frames too many, empty frames, a frame that is no signal and a reply to no
    request: none makes its sender a responder, and a verified run goes to the real ones."""
    config = balancing(responders=2)
    odd = [[READY, b"more"], [HEARTBEAT, b""], [b""], [b"\x03"], [b"", b"a reply to nobody"], [READY, READY],
           [b"client", b"", b"reply"]]
    with response_side(config), zmq.Context() as context, context.socket(zmq.DEALER) as impostor:
        impostor.linger, impostor.routing_id = 0, b"impostor"
        impostor.connect(config.settings.back_address)
        for frames in odd:
            impostor.send_multipart(frames)
        result = verified(config, 1000, timeout=1.0)
        handed = []
        while impostor.poll(100):
            handed.append(impostor.recv_multipart())
    assert (result.ok, result.failed, result.retries) == (1000, 0, 0)
    assert handed == []  # not even a heartbeat: the broker does not know it


def test_heartbeating_fakes_that_never_answer_cost_no_request_while_responders_are_free():
    """200 fakes say READY and keep heartbeating: proven responders get the requests first, so a run in
    lockstep gives them none; a window larger than the responders opens trials, and each fake holds one
    request until the deadline at most, which its requester sends again."""
    config = balancing(responders=2, requesters=2, timeout=1.0)
    with response_side(config):
        assert verified(config, 200).ok == 200  # the responders have answered: they are proven
        with FakeResponders(config.settings.back_address, 200, "never", interval=0.2) as fakes:
            assert fakes.known.wait(30)
            lockstep = verified(config, 1000)
            handed_in_lockstep = sum(fakes.handed)
            windowed = verified(config, 2000, window=8)
    assert (lockstep.ok, lockstep.failed, lockstep.retries, handed_in_lockstep) == (1000, 0, 0, 0)
    assert (windowed.ok, windowed.failed, windowed.duplicated) == (2000, 0, 0)
    assert max(fakes.handed) <= 1 and windowed.retries == sum(fakes.handed)


def test_a_fake_that_answers_to_a_client_that_does_not_exist_is_never_freed():
    """Its answer goes nowhere and frees nobody: it holds its one request until the deadline, then gets
    none."""
    config = balancing(responders=2, requesters=2, timeout=1.0)
    with response_side(config):
        assert verified(config, 200).ok == 200
        with FakeResponders(config.settings.back_address, 1, "nobody", interval=0.2) as fake:
            assert fake.known.wait(30)
            began = time.monotonic()
            result = verified(config, 1000, window=8)
            took = time.monotonic() - began
    assert (result.ok, result.failed, result.duplicated) == (1000, 0, 0)
    assert fake.handed == [1] and result.retries == 1
    assert took < 2 * config.timeout + 5  # one timeout, not one for every third request


def roster(**changes) -> tuple[Roster, float]:
    """A broker's roster, and the time: its own heartbeat of 1 s, so that a step of a second is no stall."""
    return Roster(balancing(**{"heartbeat": 1.0, **changes})), time.monotonic()


def test_roster_frees_a_responder_only_by_its_answer_to_the_client_it_was_handed():
    book, now = roster()
    book.signal(b"r", True, now)
    assert book.next_free() == b"r"
    book.hold(b"r", [b"client", b""], now)
    for frames in ([b"other", b"", b"reply"], [b"client", b"", b"reply", b"more"], [b"client", b"reply"]):
        assert not book.answered(b"r", frames, now)
    book.signal(b"r", True, now)  # a READY or a heartbeat frees nobody
    book.signal(b"r", False, now)
    assert not book.can_take()
    assert book.answered(b"r", [b"client", b"", b"reply"], now)
    assert book.next_free() == b"r"


def test_roster_bars_an_overdue_responder_until_it_answers_late():
    book, now = roster(timeout=1.0)
    for name in (b"a", b"b"):
        book.signal(name, True, now)
    book.hold(book.next_free(), [b"client", b""], now)  # a: on trial, the only one while none is proven
    assert book.next_free() is None
    book.tick(now + 1.1)  # its deadline passed: overdue
    book.signal(b"a", False, now + 1.1)
    assert book.next_free() == b"b"  # on trial in its turn; a heartbeat did not free `a`
    book.hold(b"b", [b"other", b""], now + 1.1)
    assert book.answered(b"b", [b"other", b"", b"reply"], now + 1.2)
    assert book.answered(b"a", [b"client", b"", b"late"], now + 1.3)  # late, but the right client: proven
    assert [book.next_free(), book.next_free()] == [b"b", b"a"]


def test_roster_puts_no_more_responders_on_trial_than_are_proven():
    book, now = roster()
    for index in range(4):
        book.signal(b"r%d" % index, True, now)
    book.hold(book.next_free(), [b"c0", b""], now)
    assert book.next_free() is None  # one trial at a time while none is proven
    assert book.answered(b"r0", [b"c0", b"", b"ok"], now)
    book.hold(book.next_free(), [b"c1", b""], now)  # r0 again: proven first
    book.hold(book.next_free(), [b"c2", b""], now)  # r1 on trial
    assert book.next_free() is None  # one proven, one on trial
