"""What rounds add up to. A variant's headline: its counts, seconds and CPU summed over the rounds, and each
figure the median of the rounds with its spread (the lowest and highest round). Between two variants whose
rounds alternated, the ratio of each figure, round by round, and its median with a confidence interval.

The interval is the distribution-free one for a median (the sign test's): the k-th lowest and k-th highest of
the paired ratios, whose confidence is exact whatever the distribution of the rounds (a shared machine's noise
is anything but normal), computed from the binomial distribution with `math.comb`; medians come from the
standard library's `statistics`. Its price is honesty about small samples: with fewer than 6 rounds no
interval reaches 95%, so no difference is called significant; with 3, lowest to highest is a 75% interval.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from shared.results import FIGURE_KEYS

CONFIDENCE = 0.95  # what `significant` asks of an interval that leaves out 1
COUNTS = ("answered", "ok", "failed", "duplicated", "retries")
SUMMED = ("seconds", "cpu_seconds")  # what rounds spend, in all
MEDIANS = ("throughput_rps", "pss_peak_mib_total", "rss_peak_mib_total")  # the figures, each with its spread
RATIOS = {"throughput_rps": lambda d: d["throughput_rps"], "latency_p50_us": lambda d: d["latency_us"]["p50"],
          "latency_p99_us": lambda d: d["latency_us"]["p99"]}


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def parameters(rounds: list[dict]) -> dict:
    """The parameters of a variant's rounds: the first round's, with every round's requests in all."""
    first = rounds[0]
    chosen = {key: value for key, value in first.items() if key not in FIGURE_KEYS}
    return chosen | {"requests": sum(r["requests"] for r in rounds), "payload_bytes": first.get("payload_bytes", 0)}


def headline(rounds: list[dict]) -> dict:
    """A variant's headline figures from its rounds (each in the format of RunResult.to_json)."""
    figures: dict = {key: sum(r[key] for r in rounds) for key in COUNTS}
    figures |= {key: round(sum(r[key] for r in rounds), 4) for key in SUMMED}
    figures |= {key: round(median(r.get(key, 0.0) for r in rounds), 1) for key in MEDIANS}  # 0: not measured
    latencies = rounds[0]["latency_us"]
    figures["latency_us"] = {key: round(median(r["latency_us"][key] for r in rounds), 1) for key in latencies}
    figures["spread"] = {key: spread(r.get(key, 0.0) for r in rounds) for key in MEDIANS} | {
        "latency_us": {key: spread(r["latency_us"][key] for r in rounds) for key in latencies}}
    figures["pss_peak_mib_by_kind"] = by_key([r.get("pss_peak_mib_by_kind", {}) for r in rounds], median)
    figures["roles"] = roles(rounds)
    figures["cpu_seconds_by_thread"] = by_key([r.get("cpu_seconds_by_thread", {}) for r in rounds], sum)
    figures["bytes_per_request"] = {key: round(value) for key, value in
                                    by_key([r.get("bytes_per_request", {}) for r in rounds], median).items()}
    figures["errors"] = labelled(rounds, "errors")
    figures["failures"] = labelled(rounds, "failures")
    figures["interrupted"] = any(r.get("interrupted", False) for r in rounds)
    figures["fault_inflicted"] = "; ".join(labelled(rounds, "fault_inflicted"))
    return figures


def spread(values: Iterable[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[0], ordered[-1]]


def by_key(dicts: list[dict], combine: Callable[[Iterable[float]], float]) -> dict:
    """{key: combine(the values of that key in each dict that has it)}, in the order the keys first came."""
    keys = list(dict.fromkeys(key for each in dicts for key in each))
    return {key: round(combine(each[key] for each in dicts if key in each), 3) for key in keys}


def roles(rounds: list[dict]) -> list[dict]:
    """Each role of the run (by name, as every round has the same), with the median of its figures."""
    named: dict[str, list[dict]] = {}
    for each in rounds:
        for role in each.get("roles", []):
            named.setdefault(role["role"], []).append(role)
    figures = ("pss_peak_mib", "uss_peak_mib", "rss_peak_mib", "cpu_seconds")
    return [{"role": name, "kind": seen[0]["kind"],
             **{key: round(median(role.get(key, 0.0) for role in seen), 3) for key in figures}}
            for name, seen in named.items()]


def labelled(rounds: list[dict], key: str) -> list[str]:
    """What each round said under `key` (a sentence or a list of them), with its round's number if several."""
    said = []
    for number, each in enumerate(rounds, 1):
        value = each.get(key) or []
        for sentence in [value] if isinstance(value, str) else value:
            said.append(f"round {number}: {sentence}" if len(rounds) > 1 else sentence)
    return said


@dataclass(frozen=True)
class Interval:
    """A ratio's median over paired rounds, the interval around it, the interval's confidence, and whether
    the interval leaves out 1 with at least CONFIDENCE."""

    median: float
    low: float
    high: float
    confidence: float
    significant: bool

    def to_json(self) -> dict:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


def order_interval(values: list[float]) -> tuple[float, float, float]:
    """(low, high, confidence): the k-th lowest and k-th highest of `values`, with k as large as keeps the
    confidence that they bound the median at CONFIDENCE or more (k = 1 if no k does)."""
    ordered, n = sorted(values), len(values)

    def confidence(k: int) -> float:  # the median lies outside only if k or fewer values fall on one side
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = 1
    while 2 * (k + 1) <= n and confidence(k + 1) >= CONFIDENCE:
        k += 1
    return ordered[k - 1], ordered[n - k], confidence(k)


def paired_ratio(numerators: list[float], denominators: list[float]) -> Interval:
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if b]
    if not ratios:
        return Interval(0.0, 0.0, 0.0, 0.0, False)
    low, high, confidence = order_interval(ratios)
    return Interval(median(ratios), low, high, confidence, confidence >= CONFIDENCE and (low > 1 or high < 1))


def ratios(numerator: list[dict], denominator: list[dict]) -> dict[str, Interval]:
    """Each figure of RATIOS, numerator / denominator, paired round by round."""
    return {name: paired_ratio([read(r) for r in numerator], [read(r) for r in denominator])
            for name, read in RATIOS.items()}


def rounds_for_significance() -> int:
    """The fewest rounds whose lowest-to-highest interval reaches CONFIDENCE."""
    n = 1
    while order_interval([0.0] * n)[2] < CONFIDENCE:
        n += 1
    return n
