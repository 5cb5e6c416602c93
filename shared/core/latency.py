"""Latencies in constant memory: a histogram of log-linear buckets (HdrHistogram's scheme), each percentile
within 0.4% of the exact one. A value below 2**SUB_BITS ns has a bucket of its own; above, each power of two
is cut into 2**(SUB_BITS-1) equal buckets, and a percentile is its bucket's midpoint (at most 1/256 off).

shared/core/lockstep.py repeats `bucket` inline, sparing a call per request (tests/test_latency.py holds the
two to the same answers).
"""

from __future__ import annotations

import math

SUB_BITS = 8
SUB_SHIFT = SUB_BITS - 1
BUCKETS = (64 - SUB_BITS + 1) << SUB_SHIFT  # enough for any latency that fits in an int64 of nanoseconds
# By a value's bit length: how far to shift it, and the first bucket of its power of two less what the
# shifted value adds (its top bit is set). Two lookups cost less than the arithmetic they replace.
SHIFTS = [max(bits - SUB_BITS, 0) for bits in range(65)]
BASES = [shift << SUB_SHIFT for shift in SHIFTS]


def bucket(ns: int) -> int:
    """The bucket of a latency of `ns` nanoseconds (0 <= ns < 2**63)."""
    bits = ns.bit_length()
    return BASES[bits] + (ns >> SHIFTS[bits])


def bounds(index: int) -> tuple[int, int]:
    """The lowest value of a bucket, and its width."""
    shift = (index >> SUB_SHIFT) - 1
    if shift <= 0:
        return index, 1
    return (index - (shift << SUB_SHIFT)) << shift, 1 << shift


def midpoint(index: int) -> int:
    lowest, width = bounds(index)
    return lowest + (width >> 1)


class Histogram:
    """Counts of latencies by bucket: a list, the cheapest for the request loops to add to; pickled sparse."""

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS

    def record(self, ns: int) -> None:
        self.counts[bucket(ns)] += 1

    @property
    def total(self) -> int:
        return sum(self.counts)

    def percentile(self, fraction: float) -> int:
        """The nearest-rank percentile as its bucket's midpoint; 0 when nothing was recorded."""
        total = self.total
        if not total:
            return 0
        rank = max(1, math.ceil(round(fraction * total, 9)))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return midpoint(index)
        raise AssertionError("unreachable: the ranks add up to the total")

    def highest(self) -> int:
        """The largest latency recorded, as its bucket's midpoint (0 when none)."""
        index = next((i for i in range(BUCKETS - 1, -1, -1) if self.counts[i]), None)
        return 0 if index is None else midpoint(index)

    def __getstate__(self) -> dict:
        return {"buckets": {index: count for index, count in enumerate(self.counts) if count}}

    def __setstate__(self, state: dict) -> None:
        self.counts = [0] * BUCKETS
        for index, count in state["buckets"].items():
            self.counts[index] = count


def merged(histograms) -> Histogram:
    whole = Histogram()
    whole.counts = [sum(counts) for counts in zip(whole.counts, *(each.counts for each in histograms), strict=True)]
    return whole
