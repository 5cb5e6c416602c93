"""What a zmq address names: a host and port (tcp://, across hosts), a socket file on this host (ipc:///PATH), or
a name that the sockets of one process meet at (inproc://)."""

from __future__ import annotations

IPC = "ipc://"  # then a socket file's path: ipc:///run/reqrep/front
INPROC = "inproc://"  # then a name that the sockets of one context meet at


def crosses_processes(address: str) -> bool:
    """Whether a zmq address may reach another process (tcp, ipc) or host (tcp), not only this one (inproc)."""
    return not address.startswith(INPROC)


def local_path(address: str) -> str | None:
    """The socket file of a local address (ipc:///PATH), or None for an address of another kind."""
    return address.removeprefix(IPC) if address.startswith(IPC) else None
