"""Free ports for a run wholly on this machine: drawn below the kernel's ephemeral range, or from
$REQREP_PORTS, and each handed out once until the run that asked has bound it."""

from __future__ import annotations

import collections
import os
import random
import socket

from shared.core.config import LOOPBACK
from shared.core.errors import UsageError
from shared.core.measure import proc_lines

PORTS_FROM, PROBES = 20000, 50  # where free_port starts looking (above well-known services), and how often
_HANDED_OUT: collections.deque = collections.deque(maxlen=16)  # free_port's latest: one run binds them together
PORTS_VARIABLE = "REQREP_PORTS"  # LOW-HIGH: the ports free_port draws from, to keep copies of reqrep apart


def free_port(host: str = LOOPBACK) -> int:
    """A port free now on `host`, to bind at once, from port_range(): by default below the kernel's ephemeral
    range, so that no outgoing connection takes it between this probe and the bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ports = port_range()
    for port in random.sample(ports, min(PROBES, len(ports))):
        if port in _HANDED_OUT:  # free still, but promised to a bind that has not come yet
            continue
        with socket.socket(family) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            _HANDED_OUT.append(port)
            return port
    if os.environ.get(PORTS_VARIABLE):
        raise UsageError(f"no free port found on {host} in {PORTS_VARIABLE}={os.environ[PORTS_VARIABLE]}")
    with socket.socket(family) as probe:  # a kernel whose ephemeral range starts low: any free port
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_range() -> range:
    """Where free_port draws: $REQREP_PORTS (LOW-HIGH, both included), else from PORTS_FROM up to the kernel's
    ephemeral range."""
    chosen = os.environ.get(PORTS_VARIABLE, "")
    if not chosen:
        return range(PORTS_FROM, max(PORTS_FROM, _ephemeral_low()))
    low, _, high = chosen.partition("-")
    if not (low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
        raise UsageError(f"{PORTS_VARIABLE} must be two ports LOW-HIGH, such as 20000-29999, not {chosen!r}")
    return range(int(low), int(high) + 1)


def _ephemeral_low() -> int:
    ports = "".join(proc_lines("/proc/sys/net/ipv4/ip_local_port_range")).split()
    return int(ports[0]) if ports else 32768  # Linux's usual start, and below BSD's and Windows' ranges too
