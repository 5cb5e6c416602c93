"""The records of the run and compare documents: their fields are the format (shared/report/document.py),
and shared/report/schema.json is their JSON Schema (`document_schema`)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from shared.core.records import EMPTY_IS_NONE, FLAT, OPTIONAL, const, schema, to_json
from shared.core.results import Counts, Round
from shared.report.statistics import Interval

VERSION = 3
RUN, COMPARE = f"reqrep-run/{VERSION}", f"reqrep-compare/{VERSION}"


@dataclass(kw_only=True)
class Spread:
    """The lowest and highest round of each median figure, [low, high]."""

    throughput_rps: list[float]
    pss_peak_mib_total: list[float]
    rss_peak_mib_total: list[float]
    latency_us: dict[str, list[float]]


@dataclass(kw_only=True)
class RoleMedians:
    """A role of the run (its name is the same in every round), with the median of its figures."""

    role: str
    kind: str
    pss_peak_mib: float = 0.0
    uss_peak_mib: float = 0.0
    rss_peak_mib: float = 0.0
    cpu_seconds: float = 0.0


@dataclass(kw_only=True)
class Headline(Counts):
    """A variant's figures: counts, seconds and CPU summed over its rounds; each other figure the median of
    the rounds that did not stall (all of them if every one did), with its spread."""

    cpu_seconds: float
    stalled_rounds: int | None = field(default=None, metadata=OPTIONAL)  # None: not recorded
    stalls: list[str] | None = field(default=None, metadata=OPTIONAL)  # why each stalled: "round N: ..."
    throughput_rps: float
    pss_peak_mib_total: float = 0.0
    rss_peak_mib_total: float = 0.0
    latency_us: dict[str, float]
    spread: Spread
    pss_peak_mib_by_kind: dict[str, float] = field(default_factory=dict)
    roles: list[RoleMedians] = field(default_factory=list)
    cpu_seconds_by_thread: dict[str, float] = field(default_factory=dict)  # summed
    bytes_per_request: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # every round's, "round N: " before each when several
    failures: list[str] = field(default_factory=list)
    interrupted: bool = False  # whether any round was
    fault_inflicted: str = ""


@dataclass(kw_only=True)
class Stamp:
    """What wrote a document, and when (UTC, ISO 8601)."""

    reqrep_version: str
    python: str
    date: str


@dataclass(kw_only=True)
class Variant:
    """A run document: a variant's parameters (its first round's, "requests" in all; an open set, since each
    transport adds its own), its headline, its rounds in the order they ran, and what made it."""

    format: str = field(default=RUN, metadata=const(RUN))
    parameters: dict = field(default_factory=dict, metadata=FLAT)
    headline: Headline = field(metadata=FLAT)
    rounds: list[Round]
    stamp: Stamp = field(metadata=FLAT)
    command: str | None = field(default=None, metadata=OPTIONAL)  # the command line, `reqrep ...`
    machine: dict | None = field(default=None, metadata=OPTIONAL)  # shared/core/machine.py's facts

    @property
    def transport(self) -> str:
        return self.parameters["transport"]

    @property
    def requests(self) -> int:
        return self.parameters["requests"]

    @property
    def succeeded(self) -> bool:
        """Whether every request of its rounds came back right, once."""
        return not self.headline.interrupted and self.headline.ok == self.requests and self.headline.failed == 0

    def to_json(self) -> dict:
        return to_json(self)


@dataclass(kw_only=True)
class PairRatios:
    """One variant over another, paired round by round, each figure an Interval
    (shared/report/statistics.py)."""

    numerator: str
    denominator: str
    rounds: int  # how many pairs
    stalled_rounds: int | None = field(default=None, metadata=OPTIONAL)  # pairs left out, stalled
    throughput_rps: Interval
    latency_p50_us: Interval
    latency_p99_us: Interval


@dataclass(kw_only=True)
class Comparison:
    """A compare document: a run document per variant, and the first variant over each other, paired round by
    round ("ratios" over the first of another transport, {} if none; "more_ratios" over the others)."""

    format: str = field(default=COMPARE, metadata=const(COMPARE))
    runs: list[Variant]
    alternated: bool  # false: files of separate runs shown side by side, which have no ratios
    ratios: PairRatios | None = field(default=None, metadata=EMPTY_IS_NONE)
    more_ratios: list[PairRatios] = field(default_factory=list, metadata=OPTIONAL)
    stamp: Stamp = field(metadata=FLAT)
    command: str | None = field(default=None, metadata=OPTIONAL)
    machine: dict | None = field(default=None, metadata=OPTIONAL)

    @property
    def pairs(self) -> list[PairRatios]:
        return [self.ratios, *self.more_ratios] if self.ratios else []

    def to_json(self) -> dict:
        return to_json(self)


Document = Variant | Comparison


def variants(document: Document) -> list[Variant]:
    """The run documents a document holds: itself, or a comparison's runs."""
    return document.runs if isinstance(document, Comparison) else [document]


@functools.cache
def document_schema() -> dict:
    """The JSON Schema of the documents `reqrep run` and `reqrep compare` write."""
    return schema(Variant, Comparison, title="reqrep's run and compare documents, formats reqrep-run/3 and "
                                             "reqrep-compare/3 (shared/report/document.py says what each key means)")


if __name__ == "__main__":
    print(json.dumps(document_schema(), indent=2, ensure_ascii=False))
