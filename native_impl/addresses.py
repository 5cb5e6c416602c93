"""What a native address names, a host and port (TCP) or a socket file on this host (unix:/PATH), and a plain
connection to either: the managers take the one as a tuple, the other as a path."""

from __future__ import annotations

import socket

from shared.core.local import refuse_link

UNIX = "unix:"  # then a socket file's path: unix:/run/reqrep/server


def family_of(address: tuple | str) -> int:
    if isinstance(address, str):
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in address[0] else socket.AF_INET


def dial(address: tuple[str, int] | str, seconds: float) -> socket.socket:
    """A connection to a host and port, or to a socket file (never through a symbolic link), within `seconds`.
    """
    if not isinstance(address, str):
        return socket.create_connection(address, timeout=seconds)
    refuse_link(address, f"{UNIX}{address}")
    opened = socket.socket(socket.AF_UNIX)
    try:
        opened.settimeout(seconds)
        opened.connect(address)
    except BaseException:
        opened.close()
        raise
    return opened


def local_path(address: str) -> str | None:
    """The socket file of a local address (unix:/PATH), or None for an address of another kind."""
    return address.removeprefix(UNIX) if address.startswith(UNIX) else None


def manager_address(address: str) -> tuple[str, int] | str:
    """The address as the managers take it: a host and port, or a socket file's path."""
    path = local_path(address)
    if path is not None:
        return path
    host, port = address.rsplit(":", 1)
    return host.strip("[]"), int(port)
