"""Memory and CPU of the processes of a run, read from the kernel.

Memory is the proportional set size (PSS): each page divided among the processes that share it, so that PSS
summed over forked roles is what the run takes, where RSS counts each shared page once per process. USS is
what a process holds alone. The peak resident size (VmHWM) is kept too, labelled as what it is.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import psutil

from shared.core.sizes import MIB

SAMPLE_SHARE = 0.05  # the most of a core that sampling memory may take: many processes are sampled less often
SAMPLE_SECONDS = 1.0


@dataclass
class RoleUsage:
    role: str  # "zmq responder 3"
    kind: str  # "responder": parent, broker or server, responder, requester, request router, process
    pid: int
    rss_peak_mib: float  # the kernel's VmHWM: shared pages counted in full
    cpu_seconds: float
    pss_peak_mib: float = 0.0  # the largest sampled PSS: shared pages divided among their sharers
    uss_peak_mib: float = 0.0  # the largest sampled USS: pages of this process alone

    def rounded(self) -> RoleUsage:
        return replace(self, rss_peak_mib=round(self.rss_peak_mib, 1), pss_peak_mib=round(self.pss_peak_mib, 1),
                       uss_peak_mib=round(self.uss_peak_mib, 1), cpu_seconds=round(self.cpu_seconds, 3))


def full_memory(pid: int | None = None):
    """psutil's account of a process's memory (this one's by default), with PSS and USS; None if it ended."""
    try:
        return (psutil.Process(pid) if pid else psutil.Process()).memory_full_info()
    except (psutil.Error, OSError):
        return None


def proportional_mib() -> tuple[float, float]:
    """(PSS, USS) of this process, MiB; zeros where the system does not say."""
    memory = full_memory()
    return (getattr(memory, "pss", 0) / MIB, getattr(memory, "uss", 0) / MIB) if memory else (0.0, 0.0)


def proc_lines(path: str) -> list[str]:
    """A /proc file's lines; none where there is no such file (not Linux, a process that ended)."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().splitlines()
    except OSError:
        return []


def _peak_rss_mib(process: psutil.Process) -> float:
    for line in proc_lines(f"/proc/{process.pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return process.memory_info().rss / MIB  # no /proc: the current size is the best we have


def process_usage(role: str, prefix: str, pid: int, peaks: tuple[float, float]) -> RoleUsage | None:
    """Peak memory and CPU seconds of a live process, with its sampled (PSS, USS) peaks; None if it is gone."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            cpu = process.cpu_times()
            return RoleUsage(role, kind_of(role, prefix), pid, _peak_rss_mib(process), cpu.user + cpu.system, *peaks)
    except psutil.Error:
        return None


class CpuBaseline:
    """This process's CPU seconds when a run began, in all and per thread: a run's figures count from it."""

    def __init__(self) -> None:
        self.process = own_cpu()
        self.threads = {thread.id: thread.user_time + thread.system_time for thread in psutil.Process().threads()}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process, ended ones included
    return usage.ru_utime + usage.ru_stime


def own_usage(role: str, kind: str, peaks: tuple[float, float], since: CpuBaseline) -> RoleUsage:
    """This process: its peak RSS, CPU seconds since `since`, and its sampled peaks."""
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return RoleUsage(role, kind, psutil.Process().pid, peak_rss, own_cpu() - since.process, *peaks)


# What a thread of a run in one process is, by its name, besides a transport's `thread_kinds` and the roles.
THREAD_KINDS = (
    ("asyncio loop", "event loop (every task)"),
    ("asyncio_", "asyncio executor"),
    ("MainThread", "main (watching the run)"),
)


def kind_of(name: str, prefix: str, kinds: tuple[tuple[str, str], ...] = ()) -> str:
    """'zmq responder 3' → 'responder'; a thread that is no role, by what it does (`kinds`)."""
    for marker, kind in kinds:
        if marker in name:
            return kind
    return " ".join(w for w in name.removeprefix(prefix).split() if not w.isdigit()) or "other"


def thread_cpu(ended: dict[str, float], kinds: tuple[tuple[str, str], ...], prefix: str,
               since: CpuBaseline) -> dict[str, float]:
    """CPU seconds of this process's threads by kind since `since`, plus `ended` {kind: seconds} of threads
    that ended; `kinds` adds to THREAD_KINDS, `prefix` starts the role names ("zmq ")."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    by_kind = dict(ended)
    for thread in psutil.Process().threads():
        name = names.get(thread.id) or _kernel_name(thread.id)
        kind = kind_of(name, prefix, (*kinds, *THREAD_KINDS))
        spent = thread.user_time + thread.system_time
        before = since.threads.get(thread.id, 0.0)
        spent -= before if spent >= before else 0.0  # less: a new thread that took an old one's id
        by_kind[kind] = by_kind.get(kind, 0.0) + spent
    return {kind: round(seconds, 3) for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1])}


def _kernel_name(tid: int) -> str:
    """The name of a thread Python did not start, as the kernel knows it (libzmq names its own)."""
    return "".join(proc_lines(f"/proc/self/task/{tid}/comm")).strip() or "other"


class MemorySampler:
    """PSS, USS and RSS of a run's processes: each role's peaks, and the sums about once a second (less often
    for many processes: smaps_rollup costs about 0.5 ms each)."""

    SELF = "parent"  # this process's key among the roles

    def __init__(self, processes: Callable[[], list[tuple[str, int]]]) -> None:
        self.processes = processes
        self.began = self.due = time.monotonic()
        self.peaks: dict[str, tuple[float, float]] = {}  # role -> (PSS, USS) peaks, MiB
        self.timeline: list[tuple[float, float, float]] = []  # (seconds since the start, PSS MiB, RSS MiB)

    def sample(self, now: float, *, force: bool = False) -> None:
        if now < self.due and not force:
            return
        pss_total = rss_total = 0.0
        for name, pid in [(self.SELF, None), *self.processes()]:
            memory = full_memory(pid)
            if memory is None:
                continue  # it has just ended
            pss, uss = getattr(memory, "pss", 0) / MIB, getattr(memory, "uss", 0) / MIB
            before = self.peaks.get(name, (0.0, 0.0))
            self.peaks[name] = (max(before[0], pss), max(before[1], uss))
            pss_total += pss
            rss_total += memory.rss / MIB
        took = time.monotonic() - now
        self.due = now + max(SAMPLE_SECONDS, took / SAMPLE_SHARE)
        if not force:
            self.timeline.append((round(now - self.began, 2), round(pss_total, 1), round(rss_total, 1)))

    def peak(self, name: str, own: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
        """A role's (PSS, USS) peaks: sampled, or as it measured them itself, whichever is larger."""
        sampled = self.peaks.get(name, (0.0, 0.0))
        return max(sampled[0], own[0]), max(sampled[1], own[1])


def loopback_bytes() -> int:
    """Bytes received on the loopback interface so far, machine-wide (Linux; 0 elsewhere)."""
    for line in proc_lines("/proc/net/dev"):
        name, _, counters = line.partition(":")
        if name.strip() == "lo":
            return int(counters.split()[0])
    return 0
