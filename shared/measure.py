"""Memory and CPU of the processes of a run, read from the kernel (VmHWM: the exact peak resident size)."""

from __future__ import annotations

import resource

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
