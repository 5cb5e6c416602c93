"""What a `reqrep bench` study is: one question the bench answers, as the points (runs) it needs and the report
section that answers it from their records. Each study lives in a module of `shared/bench/studies/`; presets
(shared/bench/sweep.py) are named sets of them. Also here: what every section reads its records with."""

from __future__ import annotations

import dataclasses
import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from shared.core.bench_paths import EVERY_STUDY
from shared.core.results import RunResult
from shared.core.sizes import size_text

if TYPE_CHECKING:  # bench.py and sweep.py import this module: the names are for the type hints only
    from shared.bench.engine import Bench, Record
    from shared.bench.sweep import Sweep
    from shared.core.bench_paths import BenchPath

NOT_RUN = "—"
Draw = Callable[["Bench", type], object]  # (bench, matplotlib's Figure class) -> the figure


TEXT = "text"  # a point's payload kind: the echo workload's text, padded to payload_bytes
VALUES = "values"  # another: the user's own values (bench --payload), payload_bytes only about their size


@dataclasses.dataclass(frozen=True)
class Point:
    """One run of the bench: a path with its counts, and any further run options (RunConfig fields such as
    `retries`, `fault`, `record_latency`, `delay_ms`) as sorted (name, value) pairs. Its requests are the echo
    workload's text padded to payload_bytes, or values of another kind of that size
    (shared.semantics.values.BENCH_VALUES: `ndarray`), sent as a `--payload` run sends the user's, or the
    user's own (VALUES: the sweep's payload)."""

    path: str
    concurrency: str
    payload_bytes: int
    window: int
    requesters: int
    responders: int
    requests: int
    options: tuple[tuple[str, Any], ...] = ()
    payload_kind: str = TEXT

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def label(self) -> str:
        shown = "".join(f", {name.replace('_', ' ')} {value}" for name, value in self.options)
        kind = f" {self.payload_kind}" if self.payload_kind != TEXT else ""
        return (f"{self.path} {self.concurrency} {size_text(self.payload_bytes)}{kind} window {self.window} "
                f"{self.requesters}×{self.responders}{shown}")

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "options": dict(self.options)}


def run_options(**given: Any) -> tuple[tuple[str, Any], ...]:
    """A point's further run options, leaving out those not set (None)."""
    return tuple(sorted((name, value) for name, value in given.items() if value is not None))


class Study(ABC):
    """A study: `points` says what to run, `section` what the runs show. Studies are frozen dataclasses whose
    fields are their own axes (payload sizes, windows, delays ...); the counts, the timeout and the rounds are
    the preset's (`Sweep`), so that `--requests` and `--timeout` apply to every study alike."""

    name: ClassVar[str]  # what a point's `studies` and results.json's `studies` call it
    # The paths it runs on: each transport's own, and those whose BenchPath.studies name the study or its group.
    group: ClassVar[str] = ""

    def paths(self, sweep: Sweep) -> list[BenchPath]:
        wanted = {self.name, self.group, EVERY_STUDY} - {""}
        return [path for path in sweep.paths if path.plain or wanted & set(path.studies)]

    @abstractmethod
    def points(self, sweep: Sweep) -> Iterator[Point]:
        """The runs it needs, in the order they should run (the same point asked twice runs once)."""

    @abstractmethod
    def section(self, bench: Bench) -> list[str]:
        """Its part of report.md, Markdown lines: each table with a sentence on what it shows."""

    def summary(self, bench: Bench) -> dict:
        """Its figures for results.json, beside the raw rounds."""
        return {}

    def verdict(self, bench: Bench) -> str:
        """One line for the console when the bench ends: a target met or not; empty for none."""
        return ""

    def expects_loss(self, point: Point) -> bool:
        """Whether the point loses requests on purpose (a fault with no retries): its losses are the figure,
        not a failure of the bench."""
        return False

    def figures(self) -> Mapping[str, tuple[str, Draw]]:
        """Its plots: file name -> (caption, draw)."""
        return {}

    def requires(self) -> None:  # noqa: B027 (most studies need nothing more: no need to override)
        """Refuse, with a UsageError, to start a study this machine cannot run (a library it needs missing)."""

    def parameters(self) -> dict:
        return {"study": self.name, **dataclasses.asdict(self)}


# ---- reading records ---------------------------------------------------------------------------------------
def records_of(bench: Bench, study: Study) -> list[Record]:
    """The records of the points a study asked for, in the order they ran."""
    return [record for record in bench.records.values() if study.name in record.studies]


def find(records: Iterable[Record], **wanted: Any) -> Record | None:
    """The record whose point has every field given (`options` compared as given, default none; the payload
    kind, default text)."""
    wanted.setdefault("options", ())
    wanted.setdefault("payload_kind", TEXT)
    for record in records:
        if all(getattr(record.point, name) == value for name, value in wanted.items()):
            return record
    return None


def rate(result: RunResult) -> float:
    return result.throughput_rps


def latency_of(key: str) -> Callable[[RunResult], float]:
    return lambda result: result.latency_us[key]


p50_of, p99_of = latency_of("p50"), latency_of("p99")


def memory_mib(result: RunResult) -> float:
    """A run's memory figure: the peak proportional set size (PSS) of its processes, summed, so that a page
    they share counts once (summed resident sizes count it once per process)."""
    return result.pss_peak_mib_total


def measured(record: Record | None, *reads: Callable[[RunResult], float], scale: float = 1.0, digits: int = 0) -> str:
    """The median over the point's rounds of each figure read (× scale), "a / b" for two; or why there is none."""
    if record is None:
        return NOT_RUN
    if not record.results:
        return "failed"
    if not record.succeeded:
        return f"lost {record.failed:,}"
    return " / ".join(f"{record.median(read) * scale:,.{digits}f}" for read in reads)


def p50(record: Record | None) -> float | None:
    return record.latency("p50") if record is not None and record.succeeded else None


def ratio(top: float | None, bottom: float | None) -> str:
    return f"{top / bottom:.1f}×" if top and bottom else NOT_RUN


def ratio_spread(values: list[float], digits: int = 3) -> str:
    """'1.012 (0.990 to 1.030)': the median of paired ratios and their range."""
    if not values:
        return NOT_RUN
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({min(values):.{digits}f} to {max(values):.{digits}f})"


def listed(items: Iterable[str]) -> str:
    """'a, b and c'."""
    items = list(items)
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def target_line(claim: str, figures: Mapping[str, tuple[str, bool]], not_judged: Mapping[str, str]) -> str:
    """A target's verdict, for the console and report.md alike: met by every path it judged, or not met, naming
    only the paths that fail it, each with its figure (`figures`: where -> (figure, met)); then the paths it does
    not judge (`not_judged`: path -> why), each reason said once."""
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


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1),
            *("| " + " | ".join(row) + " |" for row in rows), ""]
