"""Result records: what one requester brings back, what a whole run adds up to, and their JSON form."""

from __future__ import annotations

import logging
import platform
import resource
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from shared import __version__
from shared.core.errors import UsageError
from shared.core.latency import Histogram, merged
from shared.core.measure import RoleUsage, proportional_mib
from shared.core.records import FLAT, claimed, to_json
from shared.core.wire import Codec
from shared.core.workload import Workload

MAX_FAILURE_SAMPLES = 5
PROGRESS_EVERY = 63  # a mask: the shared progress counter is written once every 64 replies
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999))
MISMATCH_REPLIES = 3  # this many first replies, every one wrong or answering no request: the sides differ


class ReplyMismatch(UsageError):
    """The first replies are all wrong, or answer no request: the requester stops at once and says why."""


@dataclass
class RequesterResult:
    """One requester's account; its latencies in a histogram of constant size (shared/core/latency.py)."""

    requester_id: int
    planned: int
    latency: Histogram = field(repr=False)
    answered: int = 0  # replies received, right or wrong
    ok: int = 0
    failed: int = 0
    duplicated: int = 0  # replies for a request already answered: dropped, the caller sees each reply once
    retries: int = 0  # requests sent again after a timeout
    began: float = 0.0  # time.perf_counter() when released; CLOCK_MONOTONIC is shared by all processes
    ended: float = 0.0  # when the last reply arrived (or the requester gave up)
    cpu_seconds: float = 0.0
    rss_peak_mib: float = 0.0
    pss_mib: float = 0.0  # its proportional and unique set sizes as it ended (see shared/core/measure.py)
    uss_mib: float = 0.0
    thread_cpu_seconds: float = 0.0  # the CPU of the thread it ran on (its own, unless it is an asyncio task)
    failures: list[str] = field(default_factory=list)  # the first few reasons, for the summary


class Tally:
    """Counts one requester's outcomes. The request loops check each reply and record its latency
    themselves; the methods serve the rare paths: a reply that differs, a late or a missing one."""

    def __init__(self, requester_id: int, planned: int, workload: Workload, codec: Codec, progress, *,
                 peer: str = "", show: bool = False) -> None:
        self.result = RequesterResult(requester_id, planned, Histogram())
        self.requester_id, self.workload, self.codec = requester_id, workload, codec
        self.latency = self.result.latency
        self.expected, self.encode, self.decode = workload.handle, codec.encode, codec.decode
        self.progress, self.slot, self.peer, self.show = progress, requester_id, peer, show
        self.wrong = self.answered = 0

    def check(self, n: int, request, payload, seen: int) -> None:
        """A reply to request n not encoded as expected, after `seen` replies: wrong unless it decodes to the
        handler's answer. ReplyMismatch when the first MISMATCH_REPLIES are all wrong."""
        try:
            reply = self.decode(payload)
        except Exception as error:
            self.fail(f"request {n}: undecodable reply: {error}")
        else:
            if not self.workload.same(self.expected(request), reply):
                self.fail(f"request {n}: expected {self.expected(request)!r}, got {reply!r}")
        if self.wrong == seen + 1 == MISMATCH_REPLIES:
            raise ReplyMismatch(f"the first {MISMATCH_REPLIES} replies from {self.peer} were all wrong "
                                f"({self.result.failures[0].split(': ', 1)[-1]}): {self.same_codec()}")

    def stray(self, seen: int) -> None:
        """A reply to no request in flight, after `seen` others: counted and dropped. ReplyMismatch when the
        first MISMATCH_REPLIES are all such."""
        self.result.duplicated += 1
        if seen == 0 and self.result.duplicated == MISMATCH_REPLIES:
            raise ReplyMismatch(f"the first {MISMATCH_REPLIES} replies from {self.peer} answer no request (they "
                                f"carry no request number): {self.same_codec()}")

    def same_codec(self) -> str:
        return f"does the response side use the same codec as this requester (--codec {self.codec.name})?"

    def shown(self, request, payload) -> None:
        """The exchange printed (the hello example)."""
        try:
            reply = repr(self.decode(payload))
        except Exception:
            reply = repr(payload)
        print(f"requester {self.requester_id}: sent {request!r}, received {reply}", flush=True)

    def fail(self, reason: str) -> None:
        self.wrong += 1
        if len(self.result.failures) < MAX_FAILURE_SAMPLES:
            self.result.failures.append(reason)

    def retry(self) -> None:
        self.result.retries += 1

    def give_up(self, reason: str) -> None:
        """No reply after every attempt: the requester stops, and every request not answered fails."""
        remaining = self.result.planned - self.answered
        self.result.failed += remaining
        if len(self.result.failures) < MAX_FAILURE_SAMPLES:
            self.result.failures.append(f"{reason} ({remaining} requests not answered)")

    def close(self, began: float, ended: float) -> RequesterResult:
        self.progress[self.slot] = self.answered
        result = self.result
        result.answered = self.answered
        result.ok = self.answered - self.wrong
        result.failed += self.wrong
        result.began, result.ended = began, ended
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result.cpu_seconds = usage.ru_utime + usage.ru_stime
        result.rss_peak_mib = usage.ru_maxrss / 1024  # KiB on Linux
        if threading.current_thread() is threading.main_thread():  # a process of its own: it ends with this
            result.pss_mib, result.uss_mib = proportional_mib()  # threads, tasks: the parent's
        result.thread_cpu_seconds = time.thread_time()
        return result


def shows_exchanges(config) -> bool:
    """The hello example prints its exchanges with --verbose, or on a terminal."""
    return config.example == "hello" and (logging.getLogger().isEnabledFor(logging.INFO) or sys.stdout.isatty())


def no_reply(config, strays: int = 0) -> str:
    """Why a requester gave up; `strays`: the replies to other requests that came meanwhile, dropped."""
    tries = "once" if config.attempts == 1 else f"{config.attempts} times"
    others = "" if not strays else f"; {strays:,} {'reply' if strays == 1 else 'replies'} to other requests came"
    return f"no reply within {config.timeout:g} s (--timeout) from {config.address} (sent {tries}{others})"


def stall_of(retries: int, fault_inflicted: str) -> str:
    """Why a round's figures measure a wait rather than a speed, or "": retries with no fault inflicted mean
    a reply was lost or held, and the round's time is mostly the timeout it waited out."""
    if not retries or fault_inflicted:
        return ""
    return f"{retries:,} {'retry' if retries == 1 else 'retries'} with no fault inflicted: a reply was lost or held"


def latency_summary(results: list[RequesterResult]) -> dict:
    """The run's percentiles in µs, from the requesters' histograms added up (within 0.4% of exact)."""
    whole = merged(r.latency for r in results)
    shown = {name: round(whole.percentile(fraction) / 1000, 1) for name, fraction in PERCENTILES}
    return shown | {"max": round(whole.highest() / 1000, 1)}


@dataclass(kw_only=True)
class Counts:
    """What became of a run's requests, and in how long: a run's, or a variant's summed over its rounds."""

    answered: int
    ok: int
    failed: int
    duplicated: int
    retries: int
    seconds: float


@dataclass(kw_only=True)
class RunResult(Counts):
    """A whole run; `round()` gives it as a Round, the JSON format."""

    parameters: dict
    latency_us: dict
    roles: list[RoleUsage]
    errors: list[str]
    failures: list[str]
    interrupted: bool = False
    rss_timeline: list = field(default_factory=list)  # (seconds, RSS MiB of all processes), ~1/s
    pss_timeline: list = field(default_factory=list)  # (seconds, PSS MiB of all processes), the same moments
    bytes_per_request: dict = field(default_factory=dict)  # encoded sizes, and what crossed loopback
    thread_cpu: dict = field(default_factory=dict)  # threads and asyncio: CPU seconds by kind of thread
    fault: str = ""  # the fault inflicted, and when ("responder 1 hung at 2.50 s"); empty if none

    @property
    def stall(self) -> str:
        return stall_of(self.retries, self.fault)

    @property
    def throughput_rps(self) -> float:
        return (self.ok + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def rss_peak_mib_total(self) -> float:
        """Every process's peak RSS, summed: pages shared by forked processes count once per process."""
        return sum(r.rss_peak_mib for r in self.roles)

    @property
    def pss_peak_mib_total(self) -> float:
        """The largest PSS of all processes summed at one sampled moment; with no sample, the roles' peaks."""
        if self.pss_timeline:
            return max(mib for _, mib in self.pss_timeline)
        return sum(r.pss_peak_mib for r in self.roles)

    @property
    def pss_peak_mib_by_kind(self) -> dict[str, float]:
        kinds: dict[str, float] = {}
        for role in self.roles:
            kinds[role.kind] = kinds.get(role.kind, 0.0) + role.pss_peak_mib
        return {kind: round(mib, 1) for kind, mib in kinds.items()}

    @property
    def cpu_seconds(self) -> float:
        return sum(r.cpu_seconds for r in self.roles)

    @property
    def succeeded(self) -> bool:
        return not self.interrupted and self.ok == self.parameters["requests"] and self.failed == 0

    def to_json(self) -> dict:
        return to_json(self.round())

    def round(self) -> Round:
        """Round's fields, each read here by its name (or as RENAMED), rounded to its DIGITS."""
        shown = {each.name: getattr(self, RENAMED.get(each.name, each.name)) for each in fields(Round)
                 if hasattr(self, RENAMED.get(each.name, each.name))}
        shown |= {name: round(shown[name], digits) for name, digits in DIGITS.items()}
        shown["parameters"] = {key: value for key, value in self.parameters.items() if key not in FIGURE_KEYS}
        shown["roles"] = [role.rounded() for role in self.roles]
        return Round(**shown, payload_bytes=self.parameters.get("payload_bytes", 0), reqrep_version=__version__,
                     python=platform.python_version(), date=datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass(kw_only=True)
class Round:
    """One round in JSON: a run's parameters and its figures, flat. A run document's "rounds" and the bench's
    rounds are these; the fields are the format (FIGURE_KEYS and the schema, shared/report/schema.json, come
    from them). Memory in MiB, times in seconds, latencies in µs."""

    parameters: dict = field(default_factory=dict, metadata=FLAT)  # transport, requests ..., its settings
    answered: int
    ok: int
    failed: int
    duplicated: int = 0
    retries: int = 0  # requests sent again (a round's "retries" is this count, not the --retries setting)
    seconds: float
    throughput_rps: float
    latency_us: dict[str, float]  # p50, p90, p99, p999, max
    pss_peak_mib_total: float = 0.0
    pss_peak_mib_by_kind: dict[str, float] = field(default_factory=dict)
    rss_peak_mib_total: float = 0.0
    cpu_seconds: float = 0.0
    roles: list[RoleUsage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    interrupted: bool = False
    pss_timeline_mib: list[list[float]] = field(default_factory=list)  # [seconds, MiB], about once a second
    rss_timeline_mib: list[list[float]] = field(default_factory=list)
    cpu_seconds_by_thread: dict[str, float] = field(default_factory=dict)
    fault_inflicted: str = ""
    bytes_per_request: dict[str, float] = field(default_factory=dict)
    payload_bytes: int = 0
    reqrep_version: str = ""
    python: str = ""
    date: str = ""

    @property
    def requests(self) -> int:
        return self.parameters["requests"]

    @property
    def stall(self) -> str:
        return stall_of(self.retries, self.fault_inflicted)

    def to_json(self) -> dict:
        return to_json(self)


FIGURE_KEYS = claimed(Round)  # what a round's JSON holds besides the run's parameters
# RunResult's names of Round's fields where they differ, and the digits Round keeps of its figures.
RENAMED = {"pss_timeline_mib": "pss_timeline", "rss_timeline_mib": "rss_timeline",
           "cpu_seconds_by_thread": "thread_cpu", "fault_inflicted": "fault"}
DIGITS = {"seconds": 4, "throughput_rps": 1, "pss_peak_mib_total": 1, "rss_peak_mib_total": 1, "cpu_seconds": 2}
