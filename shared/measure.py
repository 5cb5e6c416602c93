"""Memory and CPU of the processes of a run, read from the kernel (VmHWM: the exact peak resident size)."""

from __future__ import annotations

import resource
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
