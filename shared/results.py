"""Result records: what one requester brings back, what a whole run adds up to, and their JSON form."""

from __future__ import annotations

import json
import logging
import math
import platform
import resource
import sys
import time
from array import array
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from shared import __version__
from shared.transport import Codec, UsageError
from shared.workload import Workload

MAX_FAILURE_SAMPLES = 5
MISMATCH_REPLIES = 3  # this many first replies, every one wrong: the two sides do not speak alike


class ReplyMismatch(UsageError):
    """The first replies are all wrong, or answer no request: the requester stops at once and says why."""
PROGRESS_EVERY = 63  # a mask: the shared progress counter is written once every 64 replies
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999))


@dataclass
class RequesterResult:
    """One requester's account. Latencies are nanoseconds, indexed by request number, 0 where unanswered."""

    requester_id: int
    planned: int
    latencies: array = field(repr=False)
    answered: int = 0  # replies received, right or wrong
    ok: int = 0
    failed: int = 0
    duplicated: int = 0  # replies for a request already answered: dropped, the caller sees each reply once
    retries: int = 0  # requests sent again after a timeout
    began: float = 0.0  # time.perf_counter() when released; CLOCK_MONOTONIC is shared by all processes
    ended: float = 0.0  # when the last reply arrived (or the requester gave up)
    cpu_seconds: float = 0.0
    rss_peak_mib: float = 0.0
    thread_cpu_seconds: float = 0.0  # the CPU of the thread it ran on (its own, unless it is an asyncio task)
    failures: list[str] = field(default_factory=list)  # the first few reasons, for the summary


class Tally:
    """Counts one requester's outcomes and checks each reply against the handler's answer to its request.
    `record` is the one call the request loop makes per reply; it allocates nothing but what decoding
    and the check need. The other methods serve the rare paths (a wrong, late or missing reply)."""

    def __init__(self, requester_id: int, planned: int, workload: Workload, codec: Codec, progress, *,
                 peer: str = "", show: bool = False) -> None:
        self.result = RequesterResult(requester_id, planned, array("q", bytes(8 * planned)))
        self.requester_id, self.workload, self.codec = requester_id, workload, codec
        self.latencies = self.result.latencies
        # The handler itself, not Workload.expected, which only calls it: one Python frame less per reply.
        self.expected, self.same, self.decode = workload.handle, workload.same, codec.decode
        self.progress, self.slot, self.peer = progress, requester_id, peer
        self.wrong = self.answered = 0
        if show:  # the seed prints every exchange; the hot path of a long run is spared the test
            self.record = self.record_and_show

    def record(self, n: int, latency_ns: int, request, payload) -> None:
        """The reply to request n came back after latency_ns: decode it and check it."""
        self.latencies[n] = latency_ns
        self.answered += 1
        try:
            reply = self.decode(payload)
        except Exception as error:
            self.fail(f"request {n}: undecodable reply: {error}")
            return
        if not self.same(self.expected(request), reply):
            self.fail(f"request {n}: expected {self.expected(request)!r}, got {reply!r}")
        if not (self.answered - 1) & PROGRESS_EVERY:  # the first reply, then one in 64: read 10 times a second
            self.progress[self.slot] = self.answered

    def record_and_show(self, n: int, latency_ns: int, request, payload) -> None:
        """`record`, and the exchange printed as the seed's example 1 prints it."""
        Tally.record(self, n, latency_ns, request, payload)
        try:
            shown = repr(self.decode(payload))
        except Exception:
            shown = repr(payload)
        print(f"requester {self.requester_id}: sent {request!r}, received {shown}", flush=True)

    def fail(self, reason: str) -> None:
        self.wrong += 1
        if len(self.result.failures) < MAX_FAILURE_SAMPLES:
            self.result.failures.append(reason)
        if self.wrong == self.answered == MISMATCH_REPLIES:
            raise ReplyMismatch(f"the first {MISMATCH_REPLIES} replies from {self.peer} were all wrong "
                                f"({self.result.failures[0].split(': ', 1)[-1]}): {self.same_codec()}")

    def duplicate(self) -> None:
        self.result.duplicated += 1
        if self.answered == 0 and self.result.duplicated == MISMATCH_REPLIES:
            raise ReplyMismatch(f"the first {MISMATCH_REPLIES} replies from {self.peer} answer no request (they "
                                f"carry no request number): {self.same_codec()}")

    def same_codec(self) -> str:
        return f"does the response side use the same codec as this requester (--codec {self.codec.name})?"

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
        result.thread_cpu_seconds = time.thread_time()
        return result


def shows_exchanges(config) -> bool:
    """The hello example prints its exchanges, as the seed's does: with --verbose, or on a terminal."""
    return config.example == "hello" and (logging.getLogger().isEnabledFor(logging.INFO) or sys.stdout.isatty())


def no_reply(config) -> str:
    """Why a requester gave up: the sentence both variants use."""
    tries = "once" if config.attempts == 1 else f"{config.attempts} times"
    return f"no reply within {config.timeout:g} s from {config.address} (sent {tries})"


def percentile(ordered: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return 0
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(results: list[RequesterResult]) -> dict:
    ordered = sorted(ns for r in results for ns in r.latencies if ns > 0)
    shown = {name: round(percentile(ordered, fraction) / 1000, 1) for name, fraction in PERCENTILES}
    return shown | {"max": round((ordered[-1] if ordered else 0) / 1000, 1)}


@dataclass
class RoleUsage:
    role: str  # "zmq responder 3"
    kind: str  # "responder": parent, broker or server, responder, requester, request router, process
    pid: int
    rss_peak_mib: float
    cpu_seconds: float


@dataclass
class RunResult:
    """A whole run. `to_json` gives the documented JSON format (see the README)."""

    parameters: dict
    answered: int
    ok: int
    failed: int
    duplicated: int
    retries: int
    seconds: float
    latency_us: dict
    roles: list[RoleUsage]
    errors: list[str]
    failures: list[str]
    interrupted: bool = False
    rss_timeline: list = field(default_factory=list)  # (seconds, MiB of all processes), about once a second
    bytes_per_request: dict = field(default_factory=dict)  # encoded sizes, and what crossed loopback
    thread_cpu: dict = field(default_factory=dict)  # threads and asyncio: CPU seconds by kind of thread
    fault: str = ""  # the fault inflicted, and when ("responder 1 hung at 2.50 s"); empty if none

    @property
    def throughput_rps(self) -> float:
        return (self.ok + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def rss_peak_mib_total(self) -> float:
        return sum(r.rss_peak_mib for r in self.roles)

    @property
    def cpu_seconds(self) -> float:
        return sum(r.cpu_seconds for r in self.roles)

    @property
    def succeeded(self) -> bool:
        planned = self.parameters["requests"]
        return not self.interrupted and self.ok == planned and self.failed == 0

    def to_json(self) -> dict:
        return {
            **self.parameters,
            "answered": self.answered,
            "ok": self.ok,
            "failed": self.failed,
            "duplicated": self.duplicated,
            "retries": self.retries,
            "seconds": round(self.seconds, 4),
            "throughput_rps": round(self.throughput_rps, 1),
            "latency_us": self.latency_us,
            "rss_peak_mib_total": round(self.rss_peak_mib_total, 1),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "roles": [asdict(r) | {"rss_peak_mib": round(r.rss_peak_mib, 1),
                                    "cpu_seconds": round(r.cpu_seconds, 3)} for r in self.roles],
            "errors": self.errors,
            "failures": self.failures,
            "interrupted": self.interrupted,
            "rss_timeline_mib": self.rss_timeline,
            "cpu_seconds_by_thread": self.thread_cpu,
            "fault_inflicted": self.fault,
            "bytes_per_request": self.bytes_per_request,
            "payload_bytes": self.parameters.get("payload_bytes", 0),
            "reqrep_version": __version__,
            "python": platform.python_version(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def write_json(path: str, document: dict | list) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")

