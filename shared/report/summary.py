"""What rounds add up to: a variant's headline (sums, and medians with their spread), and between two
variants whose rounds alternated, each figure's ratio paired round by round (shared/report/statistics.py)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable

from shared.core.results import FIGURE_KEYS, Round
from shared.report.records import Headline, RoleMedians, Spread
from shared.report.statistics import Interval, paired_ratio

MEDIANS = ("throughput_rps", "pss_peak_mib_total", "rss_peak_mib_total")  # the figures, each with its spread
RATIOS: dict[str, Callable[[Round], float]] = {
    "throughput_rps": lambda r: r.throughput_rps, "latency_p50_us": lambda r: r.latency_us["p50"],
    "latency_p99_us": lambda r: r.latency_us["p99"]}


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def parameters(rounds: list[Round]) -> dict:
    """The parameters of a variant's rounds: the first round's, with every round's requests in all."""
    first = rounds[0]
    chosen = {key: value for key, value in first.parameters.items() if key not in FIGURE_KEYS}
    return chosen | {"requests": sum(r.requests for r in rounds), "payload_bytes": first.payload_bytes}


def measured(rounds: list[Round]) -> list[Round]:
    """The rounds whose figures measure a speed: those that did not stall, or all if all did."""
    return [r for r in rounds if not r.stall] or rounds


def headline(every: list[Round]) -> Headline:
    """A variant's headline: sums over all rounds, medians and spreads of those that did not stall."""
    rounds = measured(every)
    latencies = rounds[0].latency_us
    return Headline(
        answered=sum(r.answered for r in every), ok=sum(r.ok for r in every), failed=sum(r.failed for r in every),
        duplicated=sum(r.duplicated for r in every), retries=sum(r.retries for r in every),
        seconds=round(sum(r.seconds for r in every), 4), cpu_seconds=round(sum(r.cpu_seconds for r in every), 4),
        stalled_rounds=sum(1 for r in every if r.stall),
        stalls=[f"round {n}: {r.stall}" for n, r in enumerate(every, 1) if r.stall],
        **{key: round(median(getattr(r, key) for r in rounds), 1) for key in MEDIANS},
        latency_us={key: round(median(r.latency_us[key] for r in rounds), 1) for key in latencies},
        spread=Spread(**{key: spread(getattr(r, key) for r in rounds) for key in MEDIANS},
                      latency_us={key: spread(r.latency_us[key] for r in rounds) for key in latencies}),
        pss_peak_mib_by_kind=by_key([r.pss_peak_mib_by_kind for r in rounds], median),
        roles=roles(rounds),
        cpu_seconds_by_thread=by_key([r.cpu_seconds_by_thread for r in every], sum),
        bytes_per_request={key: round(value) for key, value in
                           by_key([r.bytes_per_request for r in rounds], median).items()},
        errors=labelled(every, lambda r: r.errors), failures=labelled(every, lambda r: r.failures),
        interrupted=any(r.interrupted for r in every),
        fault_inflicted="; ".join(labelled(every, lambda r: [r.fault_inflicted] if r.fault_inflicted else [])))


def spread(values: Iterable[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[0], ordered[-1]]


def by_key(dicts: list[dict], combine: Callable[[Iterable[float]], float]) -> dict:
    """{key: combine(the values of that key in each dict that has it)}, in the order the keys first came."""
    keys = list(dict.fromkeys(key for each in dicts for key in each))
    return {key: round(combine(each[key] for each in dicts if key in each), 3) for key in keys}


def roles(rounds: list[Round]) -> list[RoleMedians]:
    """Each role of the run (by name, as every round has the same), with the median of its figures."""
    named: dict[str, list] = {}
    for each in rounds:
        for role in each.roles:
            named.setdefault(role.role, []).append(role)
    figures = ("pss_peak_mib", "uss_peak_mib", "rss_peak_mib", "cpu_seconds")
    return [RoleMedians(role=name, kind=seen[0].kind,
                        **{key: round(median(getattr(role, key) for role in seen), 3) for key in figures})
            for name, seen in named.items()]


def labelled(rounds: list[Round], said_in: Callable[[Round], list[str]]) -> list[str]:
    """What each round said (its sentences), with its round's number if there are several."""
    return [f"round {number}: {sentence}" if len(rounds) > 1 else sentence
            for number, each in enumerate(rounds, 1) for sentence in said_in(each)]


def ratios(numerator: list[Round], denominator: list[Round]) -> dict[str, Interval]:
    """Each figure of RATIOS, numerator / denominator, paired round by round, leaving out stalled pairs."""
    pairs = [(a, b) for a, b in zip(numerator, denominator, strict=True) if not (a.stall or b.stall)]
    return {name: paired_ratio([read(a) for a, _ in pairs], [read(b) for _, b in pairs])
            for name, read in RATIOS.items()}


def stalled_pairs(numerator: list[Round], denominator: list[Round]) -> int:
    """How many pairs of rounds `ratios` left out, one round of the pair or both having stalled."""
    return sum(1 for a, b in zip(numerator, denominator, strict=True) if a.stall or b.stall)
