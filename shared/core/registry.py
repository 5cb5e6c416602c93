"""The transports reqrep knows, by name: those of the entry point group `reqrep.transports`, and those
registered by a call (a test's); in the order of their `place`, then of their names."""

from __future__ import annotations

from importlib.metadata import entry_points

from shared.core.errors import UsageError
from shared.core.transport import Transport

GROUP = "reqrep.transports"
TRANSPORTS: dict[str, Transport] = {}  # filled by `load`; the command line's registry


def load() -> dict[str, Transport]:
    """TRANSPORTS with every installed transport, each entry point naming its object (`zmq_impl:TRANSPORT`)."""
    for entry in entry_points(group=GROUP):
        if entry.name not in TRANSPORTS:
            TRANSPORTS[entry.name] = check(entry.load(), entry.name)
    return ordered()


def check(transport: object, name: str) -> Transport:
    if not isinstance(transport, Transport) or transport.name != name:
        raise UsageError(f"the {GROUP} entry point {name!r} names {transport!r}, not a Transport named {name!r}")
    return transport


def register(transport: Transport) -> None:
    TRANSPORTS[check(transport, transport.name).name] = transport
    ordered()


def unregister(name: str) -> None:
    TRANSPORTS.pop(name, None)


def ordered() -> dict[str, Transport]:
    """TRANSPORTS in place order, the same dict."""
    chosen = sorted(TRANSPORTS.values(), key=lambda transport: (transport.place, transport.name))
    TRANSPORTS.clear()
    TRANSPORTS.update((transport.name, transport) for transport in chosen)
    return TRANSPORTS
