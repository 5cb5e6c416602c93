"""Memory and CPU of the processes of a run, read from the kernel (VmHWM: the exact peak resident size)."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable

import psutil

from shared.results import RoleUsage

MIB = 1024 * 1024


def _peak_rss_mib(process: psutil.Process) -> float:
    try:
        with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return process.memory_info().rss / MIB  # no /proc: the current size is the best we have


def process_usage(role: str, pid: int) -> RoleUsage | None:
    """Peak memory and CPU seconds so far of a live process; None if it is gone."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            cpu = process.cpu_times()
            return RoleUsage(role, pid, _peak_rss_mib(process), cpu.user + cpu.system)
    except psutil.Error:
        return None


def own_usage(role: str) -> RoleUsage:
    """This process: its peak resident size and CPU seconds since it started."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return RoleUsage(role, psutil.Process().pid, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


# What each thread of a run in one process is, by its name: a role's thread bears the role's name ("zmq
# responder 3"), the others are named by whoever started them (libzmq names its own in the kernel).
THREAD_KINDS = (
    ("|", "server, one thread per connection"),  # the managers name it after its client: "MainProcess|..."
    ("asyncio loop", "event loop (every task)"),
    ("zmq proxy", "broker's zmq.proxy"),
    ("ZMQbg/IO", "libzmq I/O"),
    ("ZMQbg/Reaper", "libzmq reaper"),
    ("handle_request", "server, one thread per connection"),  # until its client has said who it is
    ("manager accepter", "server, accepting"),
    ("calls", "manager calls of tasks"),
    ("asyncio_", "asyncio executor"),
    ("MainThread", "main (watching the run)"),
)


def thread_kind(name: str) -> str:
    """'zmq responder 3' → 'responder'; the threads that are not roles, by what they do."""
    for marker, kind in THREAD_KINDS:
        if marker in name:
            return kind
    words = [w for w in name.split() if not w.isdigit()]
    if words and words[0] in ("zmq", "native"):
        words = words[1:]
    return " ".join(words) or "other"


def thread_cpu(ended: dict[str, float]) -> dict[str, float]:
    """CPU seconds of this process's threads by kind: the live ones read from the kernel, plus `ended`
    (kind: seconds) for threads that ended before (requesters that finished)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    by_kind = dict(ended)
    for thread in psutil.Process().threads():
        name = names.get(thread.id) or _kernel_name(thread.id)
        kind = thread_kind(name)
        by_kind[kind] = by_kind.get(kind, 0.0) + thread.user_time + thread.system_time
    return {kind: round(seconds, 3) for kind, seconds in sorted(by_kind.items(), key=lambda item: -item[1])}


def _kernel_name(tid: int) -> str:
    """The name of a thread Python did not start: libzmq names its own; any other is just 'other'."""
    try:
        with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as comm:
            name = comm.read().strip()
    except OSError:
        return "other"
    return name if name.startswith("ZMQbg") else "other"


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
