"""What rounds add up to. A variant's headline: its counts, seconds and CPU summed over the rounds, and each
figure the median of the rounds with its spread (the lowest and highest round). Between two variants whose
rounds alternated, the ratio of each figure, round by round: the median of the per-round ratios, and the 95%
confidence interval of the paired ratio.

The interval is a paired t-interval on the log ratios, exp(mean +/- t95(n - 1) * stdev / sqrt(n)): a ratio's
noise is multiplicative, so its logarithm is what is close to normal, and pairing the rounds cancels the drift
of the machine that alternating puts into both variants alike. The mean and standard deviation come from the
standard library's `statistics`, the t quantile from the table in shared/report/statistics.py. With one
round there is no interval and nothing is called significant.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable

from shared.core.results import FIGURE_KEYS, stall_of
from shared.report.statistics import Interval, paired_ratio

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


def measured(rounds: list[dict]) -> list[dict]:
    """The rounds whose figures measure a speed: those that did not stall (stall_of), or all if all did."""
    return [r for r in rounds if not stall_of(r)] or rounds


def headline(every: list[dict]) -> dict:
    """A variant's headline figures from its rounds (each in the format of RunResult.to_json): the counts and
    sums of all, the medians and spreads of the rounds that did not stall."""
    figures: dict = {key: sum(r[key] for r in every) for key in COUNTS}
    figures |= {key: round(sum(r[key] for r in every), 4) for key in SUMMED}
    figures["stalled_rounds"] = sum(1 for r in every if stall_of(r))
    figures["stalls"] = [f"round {n}: {stall_of(r)}" for n, r in enumerate(every, 1) if stall_of(r)]
    rounds = measured(every)
    figures |= {key: round(median(r.get(key, 0.0) for r in rounds), 1) for key in MEDIANS}  # 0: not measured
    latencies = rounds[0]["latency_us"]
    figures["latency_us"] = {key: round(median(r["latency_us"][key] for r in rounds), 1) for key in latencies}
    figures["spread"] = {key: spread(r.get(key, 0.0) for r in rounds) for key in MEDIANS} | {
        "latency_us": {key: spread(r["latency_us"][key] for r in rounds) for key in latencies}}
    figures["pss_peak_mib_by_kind"] = by_key([r.get("pss_peak_mib_by_kind", {}) for r in rounds], median)
    figures["roles"] = roles(rounds)
    figures["cpu_seconds_by_thread"] = by_key([r.get("cpu_seconds_by_thread", {}) for r in every], sum)
    figures["bytes_per_request"] = {key: round(value) for key, value in
                                    by_key([r.get("bytes_per_request", {}) for r in rounds], median).items()}
    figures["errors"] = labelled(every, "errors")
    figures["failures"] = labelled(every, "failures")
    figures["interrupted"] = any(r.get("interrupted", False) for r in every)
    figures["fault_inflicted"] = "; ".join(labelled(every, "fault_inflicted"))
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


def ratios(numerator: list[dict], denominator: list[dict]) -> dict[str, Interval]:
    """Each figure of RATIOS, numerator / denominator, paired round by round, over the pairs in which neither
    round stalled (stall_of): a stalled round's speed is the timeout it waited out."""
    pairs = [(a, b) for a, b in zip(numerator, denominator, strict=True) if not (stall_of(a) or stall_of(b))]
    return {name: paired_ratio([read(a) for a, _ in pairs], [read(b) for _, b in pairs])
            for name, read in RATIOS.items()}


def stalled_pairs(numerator: list[dict], denominator: list[dict]) -> int:
    """How many pairs of rounds `ratios` left out, one round of the pair or both having stalled."""
    return sum(1 for a, b in zip(numerator, denominator, strict=True) if stall_of(a) or stall_of(b))
