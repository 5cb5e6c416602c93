"""The machine a bench ran on, as results.json and the report describe it: what the figures depend on."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from importlib import metadata

from shared import __version__
from shared.core.measure import proc_lines
from shared.core.transport import Transport


def _cpuinfo() -> tuple[str, bool]:
    """The CPU's model name, and whether the kernel says it runs under a hypervisor (Linux; else blank)."""
    model, virtual = platform.processor(), False
    for line in proc_lines("/proc/cpuinfo"):
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            model = value.strip()
        elif name.strip() == "flags":
            virtual = "hypervisor" in value.split()
    return model, virtual


def _memory_gib() -> float:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        return 0.0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def machine_facts(transports: Iterable[Transport]) -> dict:
    """What the figures depend on: the machine, and the versions of what each transport runs on."""
    model, virtual = _cpuinfo()
    versions = {"python": platform.python_version(), "reqrep": __version__, "matplotlib": _version("matplotlib")}
    for transport in transports:
        versions |= transport.versions()
    return {"cores": os.cpu_count(), "memory_gib": _memory_gib(), "cpu_model": model, "virtual_machine": virtual,
            "system": platform.system(), "kernel": platform.release(), "python": platform.python_version(),
            "versions": versions, "load_average": [round(load, 2) for load in os.getloadavg()]}


def machine_sentence(machine: dict) -> str:
    """'a 2-core virtual machine (AMD EPYC ..., 23.5 GiB, Linux 6.18); python 3.11.7, pyzmq 27.3.0, ...'."""
    kind = "virtual machine" if machine.get("virtual_machine") else "machine"
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items() if version)
    return (f"a {machine['cores']}-core {kind} ({machine['cpu_model']}, {machine['memory_gib']:g} GiB, "
            f"{machine['system']} {machine['kernel']}); {versions}; load average {machine['load_average'][0]:g} "
            f"at the start")
