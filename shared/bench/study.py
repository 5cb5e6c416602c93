"""A study (one question: the points it needs, its summary and section), a sweep (a preset ready to run), its
plan, and what was measured (by shared/bench/engine.py, or read back from results.json)."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shared.bench.point import TEXT, Point, Record, run_options
from shared.core.bench_paths import EVERY_STUDY, BenchPath
from shared.core.config import CONCURRENCY
from shared.core.sizes import KIB
from shared.semantics.values import Payload

SCALE_BYTES = 8 * KIB  # requests per point fall as payloads grow past this
MIN_PER_REQUESTER = 4  # however large the payload, every requester sends a few


@dataclass
class Table:
    """A table of a section, its cells as text, and the line before it (a bold caption), if any."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    """A study's part of report.md as data: a heading, a paragraph, its tables, the lines after them."""

    heading: str
    text: str
    tables: list[Table]
    after: list[str] = field(default_factory=list)  # a verdict, notes; each its own paragraph


class Study(ABC):
    """`points` says what to run; `summary` (results.json), `verdict` (the console) and `sections`
    (report.md) what the runs show. Its fields are its axes (payload sizes ...), the counts the sweep's."""

    name: ClassVar[str]  # what a point's `studies` and results.json's `studies` call it
    group: ClassVar[str] = ""  # its paths: each transport's own, and those whose studies name it or its group
    figures: ClassVar[Mapping[str, tuple[str, str]]] = {}  # file name -> (caption, its function in plots.py)

    def paths(self, sweep: Sweep) -> list[BenchPath]:
        wanted = {self.name, self.group, EVERY_STUDY} - {""}
        return [path for path in sweep.paths if path.plain or wanted & set(path.studies)]

    @abstractmethod
    def points(self, sweep: Sweep) -> Iterator[Point]:
        """The runs it needs, in the order they should run."""

    @abstractmethod
    def sections(self, bench: Measured) -> list[Section]:
        """Its part of report.md (none when it has nothing to show)."""

    def summary(self, bench: Measured) -> dict:
        return {}

    def verdict(self, bench: Measured) -> str:
        """One line for the console: a target met or not; empty for none."""
        return ""

    def expects_loss(self, point: Point) -> bool:
        """Whether the point loses requests on purpose (a fault with no retries)."""
        return False

    def requires(self) -> None:  # noqa: B027 (most studies need nothing more)
        """Raise a UsageError when this machine cannot run the study (a library missing)."""

    def parameters(self) -> dict:
        return {"study": self.name, **dataclasses.asdict(self)}

    def records(self, bench: Measured) -> list[Record]:
        """The records of the points it asked for, in the order they ran."""
        return [record for record in bench.records.values() if self.name in record.studies]

    def find(self, bench: Measured, **wanted: Any) -> Record | None:
        return find(self.records(bench), **wanted)


def find(records: Iterable[Record], **wanted: Any) -> Record | None:
    """The record whose point has every field given (default: no options, text payload)."""
    wanted = {"options": (), "payload_kind": TEXT} | wanted
    return next((record for record in records
                 if all(getattr(record.point, name) == value for name, value in wanted.items())), None)


@dataclass(frozen=True)
class Sweep:
    """A preset ready to run: its studies, and what their points share (a point asked twice runs once)."""

    preset: str
    description: str  # one line for --help
    studies: tuple[Study, ...]
    requests: int  # per point (at small payloads: fewer as payloads grow)
    stall_requests: int = 60  # the most for a path at a payload size where it stalls
    rounds: int = 1  # passes over the whole plan; each figure is the median of a point's rounds
    timeout: float = 10.0
    requesters: int = 2
    responders: int = 2
    reference_payload: int = KIB  # the payload of the studies that do not vary it
    paths: tuple[BenchPath, ...] = ()  # every transport's paths, the registry's order
    modes: tuple[str, ...] = CONCURRENCY  # the concurrency modes the sweep runs (processes always)
    payload: Payload | None = None  # the user's values (--payload), for the points of the values study
    left_out: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (path, why): cannot carry the payload

    def path(self, name: str) -> BenchPath:
        return next(path for path in self.paths if path.name == name)

    def requests_for(self, path: BenchPath, payload: int, requesters: int) -> int:
        scaled = self.requests * SCALE_BYTES // (SCALE_BYTES + payload)
        if path.stalls_above and payload >= path.stalls_above:
            scaled = min(scaled, self.stall_requests)
        return max(scaled, requesters * MIN_PER_REQUESTER)

    def point(self, path: BenchPath, concurrency: str = "processes", payload: int = 0, *, window: int | None = None,
              requesters: int | None = None, responders: int | None = None, payload_kind: str = TEXT,
              **further: Any) -> Point:
        """A point of `path` with the sweep's counts unless given; `further`: run options (None: not set)."""
        requesters = requesters or self.requesters
        if path.one_hop or further.get("one_hop"):  # its server answers: no responders of their own
            responders = 0
        elif not responders:
            responders = self.responders
        return Point(path.name, concurrency, payload, window or path.window, requesters, responders,
                     self.requests_for(path, payload, requesters), run_options(**further), payload_kind)

    def parameters(self) -> dict:
        payload, names = self.payload, list(self.payload.names) if self.payload else []
        return {"preset": self.preset, "requests": self.requests, "stall_requests": self.stall_requests,
                "rounds": self.rounds, "timeout": self.timeout, "requesters": self.requesters,
                "responders": self.responders, "reference_payload": self.reference_payload,
                "concurrency": list(self.modes), "studies": [study.parameters() for study in self.studies],
                "payload": payload.source if payload else None, "payload_values": names,
                "left_out": {name: list(why) for name, why in self.left_out},
                "paths": {path.name: {key: value for key, value in dataclasses.asdict(path).items() if key != "name"}
                          for path in self.paths}}


def plan(sweep: Sweep) -> dict[Point, list[str]]:
    """Every point of the sweep's studies, with the studies it serves, in the order they run."""
    studies: dict[Point, list[str]] = {}
    for study in sweep.studies:
        for point in study.points(sweep):
            studies.setdefault(point, []).append(study.name)
    return studies


@dataclass
class Measured:
    """What a bench measured, all its report is rendered from: the sweep, a record per point, where and when
    it ran, and the transports' own words (title, server role)."""

    sweep: Sweep
    records: dict[Point, Record] = field(default_factory=dict)
    points_planned: int = 0
    runs: int = 0  # point runs done, over all rounds
    machine: dict = field(default_factory=dict)
    transports: dict[str, dict] = field(default_factory=dict)  # name -> {"title", "server_role"}
    date: str = ""
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def planned(self) -> int:
        return self.points_planned * self.sweep.rounds

    @property
    def studies(self) -> dict[str, Study]:
        return {study.name: study for study in self.sweep.studies}

    @property
    def server_roles(self) -> list[str]:
        """What the transports call their servers, once each."""
        return list(dict.fromkeys(facts["server_role"] for facts in self.transports.values())) or ["server"]

    def role_kinds(self) -> list[tuple[str, tuple[str, ...]]]:
        """(label, RoleUsage kinds) of a run's roles, the transports' server roles as one."""
        servers = tuple(self.server_roles)
        return [("parent", ("parent",)), (" or ".join(servers), servers), ("responder", ("responder",)),
                ("requester", ("requester",)), ("one process, all roles", ("process",))]

    def meant_to_lose(self, record: Record) -> bool:
        return any(self.studies[name].expects_loss(record.point) for name in record.studies)

    @property
    def lost(self) -> list[Record]:
        """The points with a round that gave no result, or requests lost not on purpose."""
        return [record for record in self.records.values() if record.errors
                or (not record.results and not record.cut_short)
                or (record.results and not (record.succeeded or self.meant_to_lose(record)))]

    @property
    def cut_short(self) -> list[Record]:
        return [record for record in self.records.values() if record.cut_short]
