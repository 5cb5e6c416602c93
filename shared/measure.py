"""Memory and CPU of the processes of a run, read from the kernel (VmHWM: the exact peak resident size)."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable

import psutil

from shared.results import RoleUsage
from shared.sizes import MIB


def _peak_rss_mib(process: psutil.Process) -> float:
    try:
        with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return process.memory_info().rss / MIB  # no /proc: the current size is the best we have


def process_usage(role: str, kind: str, pid: int) -> RoleUsage | None:
    """Peak memory and CPU seconds so far of a live process; None if it is gone."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            cpu = process.cpu_times()
            return RoleUsage(role, kind, pid, _peak_rss_mib(process), cpu.user + cpu.system)
    except psutil.Error:
        return None


def own_usage(role: str, kind: str) -> RoleUsage:
    """This process: its peak resident size and CPU seconds since it started."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return RoleUsage(role, kind, psutil.Process().pid, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


# What each thread of a run in one process is, by its name, besides those a transport names (its
# `thread_kinds`): a role's thread bears the role's name ("zmq responder 3").
THREAD_KINDS = (
    ("asyncio loop", "event loop (every task)"),
    ("asyncio_", "asyncio executor"),
    ("MainThread", "main (watching the run)"),
)


def thread_kind(name: str, kinds: tuple[tuple[str, str], ...], prefix: str) -> str:
    """'zmq responder 3' → 'responder'; the threads that are not roles, by what they do."""
    for marker, kind in kinds:
        if marker in name:
            return kind
    return " ".join(w for w in name.removeprefix(prefix).split() if not w.isdigit()) or "other"


def thread_cpu(ended: dict[str, float], kinds: tuple[tuple[str, str], ...], prefix: str) -> dict[str, float]:
    """CPU seconds of this process's threads by kind: the live ones read from the kernel, plus `ended`
    (kind: seconds) for threads that ended before (requesters that finished). `kinds` adds the transport's
    own threads to THREAD_KINDS; `prefix` is what role names start with ("zmq ")."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    by_kind = dict(ended)
    for thread in psutil.Process().threads():
        name = names.get(thread.id) or _kernel_name(thread.id)
        kind = thread_kind(name, (*kinds, *THREAD_KINDS), prefix)
        by_kind[kind] = by_kind.get(kind, 0.0) + thread.user_time + thread.system_time
    return {kind: round(seconds, 3) for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1])}


def _kernel_name(tid: int) -> str:
    """The name of a thread Python did not start, as the kernel knows it (libzmq names its own)."""
    try:
        with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as comm:
            return comm.read().strip() or "other"
    except OSError:
        return "other"


class MemoryTimeline:
    """Resident memory of all of a run's processes, summed, about once a second while the run goes on: how
    a long run shows a leak. `sample` is called from the parent's wait loop and rate-limits itself."""

    def __init__(self, processes: Callable[[], list[tuple[str, int]]], interval: float = 1.0) -> None:
        self.processes, self.interval = processes, interval
        self.began = self.due = time.monotonic()
        self.samples: list[tuple[float, float]] = []  # (seconds since the start, MiB)

    def sample(self, now: float) -> None:
        if now < self.due:
            return
        self.due = now + self.interval
        total = psutil.Process().memory_info().rss
        for _, pid in self.processes():
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.Error:
                pass  # it has just ended
        self.samples.append((round(now - self.began, 2), round(total / MIB, 1)))


def loopback_bytes() -> int:
    """Bytes received on the loopback interface so far, machine-wide (Linux; 0 elsewhere)."""
    try:
        with open("/proc/net/dev", encoding="ascii") as table:
            for line in table:
                name, _, counters = line.partition(":")
                if name.strip() == "lo":
                    return int(counters.split()[0])
    except OSError:
        pass
    return 0
