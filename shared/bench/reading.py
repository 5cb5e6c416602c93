"""What the studies write cells with: medians, paired ratios, verdicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from shared.bench.point import Record
from shared.core.bench_paths import BenchPath
from shared.core.results import RunResult
from shared.report.statistics import CONFIDENCE, Interval, paired_ratio

NOT_RUN = "—"
RATIOS = (f"A ratio paired per round is the median of the rounds' ratios and, from two rounds on, its "
          f"{CONFIDENCE:.0%} interval (a t-interval on the log ratios), as `reqrep compare` gives it.")
Read = Callable[[RunResult], float]


def rate(result: RunResult) -> float:
    return result.throughput_rps


def latency_of(key: str) -> Read:
    return lambda result: result.latency_us[key]


p50_of, p99_of = latency_of("p50"), latency_of("p99")


def memory_mib(result: RunResult) -> float:
    """The peak PSS of a run's processes, summed: a page they share counts once."""
    return result.pss_peak_mib_total


def measured(record: Record | None, *reads: Read, scale: float = 1.0, digits: int = 0) -> str:
    """The median over the rounds of each figure read (× scale), "a / b" for two; or why there is none."""
    if record is None:
        return NOT_RUN
    if not record.results:
        return "failed"
    if not record.succeeded:
        return f"lost {record.failed:,}"
    return " / ".join(f"{record.median(read) * scale:,.{digits}f}" for read in reads)


def paired(top: Record | None, bottom: Record | None, read: Read = rate) -> Interval:
    """read(top) / read(bottom), paired over the rounds that both gave a result."""
    both = sorted(set(top.results) & set(bottom.results)) if top is not None and bottom is not None else []
    return paired_ratio([read(top.results[n]) for n in both], [read(bottom.results[n]) for n in both])


def ratio_text(interval: Interval, digits: int = 3, unit: str = "") -> str:
    """'1.012 (0.990–1.030)', to `digits` places."""
    return interval.text(lambda value: f"{value:.{digits}f}", unit, NOT_RUN)


def firsts_and_others(paths: list[BenchPath]) -> tuple[list[BenchPath], list[tuple[BenchPath, BenchPath]]]:
    """Each transport's first path (the one its figures are compared by), and every other path with its own
    transport's first."""
    first: dict[str, BenchPath] = {}
    for path in paths:
        first.setdefault(path.transport, path)
    return list(first.values()), [(path, first[path.transport]) for path in paths if path not in first.values()]


def listed(items: Iterable[str], last: str = "and") -> str:
    """'a, b and c'."""
    items = list(items)
    return f" {last} ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def target_line(claim: str, figures: Mapping[str, tuple[str, bool]], not_judged: Mapping[str, str]) -> str:
    """A target's verdict: met, or the failing paths with their figures (`figures`: where -> (figure, met));
    then the paths not judged (`not_judged`: path -> why), each reason once."""
    failing = [f"{where} {figure}" for where, (figure, met) in figures.items() if not met]
    if not figures:
        outcome = "no path to judge"
    elif failing:
        outcome = f"not met by {', '.join(failing)} ({len(failing)} of {len(figures)} judged)"
    else:
        outcome = f"met ({len(figures)} judged)"
    reasons: dict[str, list[str]] = {}
    for path, why in not_judged.items():
        reasons.setdefault(why, []).append(path)
    unjudged = "; ".join(f"{listed(paths)} ({why})" for why, paths in reasons.items())
    return f"Target, {claim}: {outcome}." + (f" Not judged: {unjudged}." if unjudged else "")
