"""Paired ratios and their 95% interval: the one statistics path of compare and of every bench study.

A ratio's noise is multiplicative, so the interval is a paired t-interval on the log ratios,
exp(mean +/- t95(n - 1) * stdev / sqrt(n)); with one pair there is no interval and nothing is significant.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass

CONFIDENCE = 0.95

# Student's t, two-sided 95% quantile, for 1 to 30 degrees of freedom, then 40, 50, 60, 80, 100 and 200 or
# more. Source: NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2 (pyperf's numbers too).
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
T95_BEYOND = ((200, 1.960), (100, 1.984), (80, 1.990), (60, 2.000), (50, 2.009), (40, 2.021))


def t95(df: int) -> float:
    """The 95% two-sided t quantile for `df` >= 1; between two rows of the table, the wider one's."""
    if df < 1:
        raise ValueError(f"a t quantile needs one degree of freedom or more, not {df}")
    if df <= len(T95):
        return T95[df - 1]
    return next((value for least, value in T95_BEYOND if df >= least), T95[-1])


@dataclass(frozen=True)
class Interval:
    """A ratio over paired rounds: the median of the per-round ratios, their geometric mean, its 95% interval
    (None with one round: no interval), and whether that interval leaves out 1. `rounds` is how many pairs
    it stands on (None and 0 when the figure was not measured, as latency under --no-latency)."""

    rounds: int
    median: float | None
    geomean: float | None
    low: float | None
    high: float | None
    significant: bool
    confidence: float | None = None  # CONFIDENCE when there is an interval, whatever is passed

    def __post_init__(self) -> None:
        object.__setattr__(self, "confidence", CONFIDENCE if self.low is not None else None)

    def rounded(self) -> Interval:
        """As documents keep it: each figure to 4 places."""
        return Interval(**{key: round(value, 4) if isinstance(value, float) else value
                           for key, value in asdict(self).items()})

    def to_json(self) -> dict:
        return asdict(self.rounded())

    def text(self, shape: Callable[[float], str], unit: str = "", missing: str = "not measured") -> str:
        """'1.01× (0.99–1.03)': the median, `unit` after it, and the interval (the median alone with one
        round)."""
        if self.median is None:
            return missing
        shown = shape(self.median) + unit
        return shown if self.low is None else f"{shown} ({shape(self.low)}–{shape(self.high)})"


def t_interval(logs: list[float]) -> tuple[float, float]:
    """The 95% interval of the mean of `logs` (two or more): mean +/- t95(n - 1) * stdev / sqrt(n)."""
    center, n = statistics.fmean(logs), len(logs)
    half = t95(n - 1) * statistics.stdev(logs) / math.sqrt(n)
    return center - half, center + half


def paired_ratio(numerators: list[float], denominators: list[float]) -> Interval:
    """numerator / denominator round by round, over the rounds in which both were measured (> 0)."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if a > 0 and b > 0]
    if not ratios:
        return Interval(0, None, None, None, None, False)
    logs = [math.log(ratio) for ratio in ratios]
    geomean = math.exp(statistics.fmean(logs))
    if len(ratios) < 2:  # one pair has no spread to judge a difference by
        return Interval(1, statistics.median(ratios), geomean, None, None, False)
    low, high = (math.exp(end) for end in t_interval(logs))
    return Interval(len(ratios), statistics.median(ratios), geomean, low, high, low > 1 or high < 1)
