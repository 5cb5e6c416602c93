"""Latency in constant memory: the histogram reports every percentile within 1% of the exact one (0.4% by
construction) at any count, the request loops record into it exactly what they measured, and neither the
loops nor their records grow with the number of requests (a 10,000,000-request run, or one of 10**12, needs
no more memory than one of 2,000). No sockets: the loops are driven as the transports drive them."""

from __future__ import annotations

import itertools
import math
import pickle
import time
import tracemalloc
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zmq_impl
from shared.core.config import RunConfig
from shared.core.latency import BUCKETS, SUB_BITS, Histogram, bounds, bucket, midpoint
from shared.core.lockstep import lockstep
from shared.core.pipeline import Schedule
from shared.core.results import PERCENTILES, Tally
from shared.core.workload import WORKLOADS
from zmq_impl.codec import ID_BYTES, framing, number_of, own_codec

pytestmark = pytest.mark.timeout(120)
NS_MAX = 2**63 - 1
CODEC = own_codec("msgpack")
ECHO = WORKLOADS["echo"]


def nearest_rank(ordered: list[int], fraction: float) -> int:
    return ordered[max(1, math.ceil(round(fraction * len(ordered), 9))) - 1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, NS_MAX), st.integers(10_000, 10**9)), min_size=1, max_size=3000))
def test_every_percentile_is_within_one_percent_of_exact(latencies):
    histogram = Histogram()
    for ns in latencies:
        histogram.record(ns)
    ordered = sorted(latencies)
    for _, fraction in (*PERCENTILES, ("max", 1.0)):
        exact = nearest_rank(ordered, fraction)
        assert abs(histogram.percentile(fraction) - exact) <= exact / 256  # 0.4%: half a bucket at most
    assert abs(histogram.highest() - ordered[-1]) <= ordered[-1] / 256
    assert histogram.total == len(latencies)


@given(st.integers(0, NS_MAX))
def test_a_bucket_holds_its_value_and_is_narrow(ns):
    index = bucket(ns)
    lowest, width = bounds(index)
    assert 0 <= index < BUCKETS
    assert lowest <= ns < lowest + width
    assert width == 1 or width * 2**(SUB_BITS - 1) <= lowest  # at most 1/128 of its lowest value wide
    assert abs(midpoint(index) - ns) <= max(ns / 256, 0)


def test_buckets_follow_one_another_without_gaps():
    for index in range(1, BUCKETS):
        lowest, width = bounds(index - 1)
        assert bounds(index)[0] == lowest + width
    assert bucket(NS_MAX) == BUCKETS - 1


def test_a_histogram_travels_sparse():
    histogram = Histogram()
    for ns in (300_000, 310_000, 2_000_000, 2_000_000):
        histogram.record(ns)
    sent = pickle.dumps(histogram)
    assert pickle.loads(sent).counts == histogram.counts
    assert len(sent) < 200  # four counts, not 7,424


def echo_replies(message: bytes) -> bytes:
    """What a responder answers to a numbered echo request."""
    return message[:ID_BYTES] + CODEC.encode(ECHO.handle(CODEC.decode(message[ID_BYTES:])))


def config(requests: int, **changes) -> RunConfig:
    return RunConfig(transport=zmq_impl.TRANSPORT, requests=requests, requesters=1, responders=1, **changes)


def drive_lockstep(requests: int, answer=echo_replies) -> Tally:
    """The seed's loop over a perfect responder, as a transport drives it."""
    tally = Tally(0, requests, ECHO, CODEC, array("q", [0]))
    exchange = lockstep(config(requests), tally, framing(CODEC))
    try:
        message = next(exchange)
        while True:
            message = exchange.send(answer(message))
    except StopIteration:
        pass
    finally:
        exchange.close()
    return tally


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 10**11), min_size=1, max_size=200))
def test_lockstep_records_exactly_the_latencies_it_measured(latencies):
    moments = iter(list(itertools.chain.from_iterable((10**12 * n, 10**12 * n + ns)
                                                      for n, ns in enumerate(latencies, 1))))
    original = time.perf_counter_ns
    time.perf_counter_ns = lambda: next(moments)  # the clock the loop reads: sent, then answered
    try:
        tally = drive_lockstep(len(latencies))
    finally:
        time.perf_counter_ns = original
    expected = Histogram()
    for ns in latencies:
        expected.record(ns)
    assert tally.latency.counts == expected.counts  # the loop's inline bucket is latency.bucket
    assert tally.answered == len(latencies) and tally.wrong == 0


def test_lockstep_checks_a_wrong_reply_the_slow_way():
    def wrong_fifth(message: bytes) -> bytes:
        reply = echo_replies(message)
        return message[:ID_BYTES] + CODEC.encode("not the echo") if number_of(reply) == 5 else reply

    tally = drive_lockstep(10, wrong_fifth)
    assert (tally.answered, tally.wrong) == (10, 1)
    assert "request 5: expected 'Hello, 0 5 - echoed!', got 'not the echo'" in tally.result.failures[0]


def test_another_encoding_of_the_right_reply_is_right():
    # msgpack may carry a short text as str8 (0xd9) rather than fixstr: another responder's choice, the same text
    def longhand(message: bytes) -> bytes:
        text = ECHO.handle(CODEC.decode(message[ID_BYTES:])).encode()
        return message[:ID_BYTES] + bytes([0xD9, len(text)]) + text

    tally = drive_lockstep(20, longhand)
    assert (tally.answered, tally.wrong) == (20, 0)


def held_after(run) -> int:
    """Bytes allocated by `run` and still held when it returns (its result included)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = run()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del kept
    return held


def test_the_seeds_loop_holds_as_much_for_200_000_requests_as_for_2_000():
    small, large = held_after(lambda: drive_lockstep(2_000)), held_after(lambda: drive_lockstep(200_000))
    assert large - small < 16 * 1024, (small, large)  # a few ints that grew a digit, not 8 bytes a request


def drive_pipeline(requests: int, window: int = 16) -> Schedule:
    """A window of requests over a responder that answers each burst in reverse order."""
    tally = Tally(0, requests, ECHO, CODEC, array("q", [0]))
    schedule = Schedule(config(requests, window=window), tally, framing(CODEC))
    while (step := schedule.due()) is not None:
        schedule.arrived([echo_replies(message) for message in reversed(step[0])])
    return schedule


def test_the_window_holds_as_much_for_100_000_requests_as_for_1_000():
    assert drive_pipeline(1_000).tally.answered == 1_000
    small, large = held_after(lambda: drive_pipeline(1_000)), held_after(lambda: drive_pipeline(100_000))
    assert large - small < 16 * 1024, (small, large)
    assert drive_pipeline(5_000, window=300).mask + 1 == 1024  # a power of two above twice the window


def test_a_lost_reply_stretches_the_ring_and_nothing_is_lost():
    tally = Tally(0, 3_000, ECHO, CODEC, array("q", [0]))
    schedule = Schedule(config(3_000, window=4, timeout=0.05), tally, framing(CODEC))
    lost = False
    while (step := schedule.due()) is not None:
        replies = [echo_replies(message) for message in step[0]]
        if not lost and any(number_of(reply) == 10 for reply in replies):  # request 10's reply, once
            replies, lost = [reply for reply in replies if number_of(reply) != 10], True
        schedule.arrived(replies)
    assert (tally.answered, tally.wrong, tally.result.retries) == (3_000, 0, 1)
    assert schedule.mask + 1 > 64  # the span grew while request 10 waited out its timeout


def test_a_requester_of_a_trillion_requests_starts_small():
    held = held_after(lambda: (Tally(0, 10**12, ECHO, CODEC, array("q", [0])),
                               Schedule(config(10**12, window=16), Tally(0, 10**12, ECHO, CODEC, array("q", [0])),
                                        framing(CODEC))))
    assert held < 512 * 1024  # two histograms of 7,424 buckets and a ring of 64 slots
