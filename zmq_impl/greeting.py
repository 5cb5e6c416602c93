"""A look at a ZeroMQ socket that refused ours: the start of ZMTP 3.0 (rfc.zeromq.org 23 and 37) over a plain
TCP or Unix socket, the greeting and the NULL mechanism's READY, to read the peer's Socket-Type, which libzmq's
hang-up does not say. On the failure path only. zmq only: the managers' handshake has no socket types to
mismatch."""

from __future__ import annotations

import socket
import struct
import time

from zmq_impl.addresses import local_path

PROBE_SECONDS = 0.5  # the whole look, connection included: the error it explains is already certain
SIGNATURE = b"\xff" + bytes(8) + b"\x7f"
# signature, version 3.0, mechanism NULL padded to 20 bytes, as-server 0, 31 bytes of filler
GREETING = SIGNATURE + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + bytes(31)
COMMAND, LONG = 0x04, 0x02  # the flag bits of a command frame, and of one whose size takes 8 bytes
# Which socket types each of our client sockets talks to (rfc 28 and 37): libzmq refuses any other.
PARTNERS = {"REQ": ("REP", "ROUTER"), "REP": ("REQ", "DEALER"), "DEALER": ("REP", "DEALER", "ROUTER"),
            "ROUTER": ("REQ", "DEALER", "ROUTER")}


def peer_socket_type(address: str, own_type: str = "REQ", seconds: float = PROBE_SECONDS) -> str | None:
    """The Socket-Type ("DEALER") of the ZeroMQ socket at `address` (tcp:// or ipc://), greeted as `own_type`
    with the NULL mechanism; None when it tells nothing within `seconds` (not ZeroMQ, silent, gone, CURVE)."""
    deadline = time.monotonic() + seconds
    try:
        with connected(address, seconds) as connection:
            return greet(Wire(connection, deadline), own_type)
    except (OSError, ValueError, IndexError, struct.error):  # refused, reset, timed out, not ZMTP
        return None


def connected(address: str, seconds: float) -> socket.socket:
    """A plain stream socket connected to the ZeroMQ one at `address`: over TCP, or its socket file (ipc://)."""
    path = local_path(address)
    if path is None:
        return socket.create_connection(host_and_port(address), timeout=seconds)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(seconds)
        connection.connect(path)
    except OSError:
        connection.close()
        raise
    return connection


def host_and_port(address: str) -> tuple[str, int]:
    """('::1', 5555) from tcp://[::1]:5555; ValueError for anything else."""
    if not address.startswith("tcp://"):
        raise ValueError(address)
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def greet(wire: Wire, own_type: str) -> str | None:
    """Exchange greetings and READY commands; the peer's Socket-Type, or None."""
    wire.send(GREETING)
    signature = wire.read(len(SIGNATURE))
    if signature[0] != 0xFF or signature[-1] & 0x01 == 0:  # the padding between is not significant
        return None  # not ZeroMQ (or a ZMTP before 3.0, which no libzmq since 2013 speaks)
    rest = wire.read(len(GREETING) - len(SIGNATURE))
    if rest[0] < 3 or rest[2:22].rstrip(b"\x00") != b"NULL":
        return None  # CURVE (or PLAIN): its READY comes only after a handshake with keys
    wire.send(command(b"READY", {"Socket-Type": own_type.encode()}))
    name, body = read_command(wire)
    if name != b"READY":
        return None  # ERROR: it refused before saying what it is
    return properties(body).get("socket-type", b"").decode("ascii", "replace") or None


def command(name: bytes, fields: dict[str, bytes]) -> bytes:
    """One command frame: its name, then each property as name and value with their lengths."""
    body = bytes([len(name)]) + name
    for key, value in fields.items():
        body += bytes([len(key)]) + key.encode() + struct.pack(">I", len(value)) + value
    if len(body) > 255:
        return bytes([COMMAND | LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([COMMAND, len(body)]) + body


def read_command(wire: Wire) -> tuple[bytes, bytes]:
    """The next frame's command name and the rest of its body; (b"", b"") when it is not a command."""
    flags = wire.read(1)[0]
    size = struct.unpack(">Q", wire.read(8))[0] if flags & LONG else wire.read(1)[0]
    if not flags & COMMAND or size > 65536:  # a handshake command is small: anything else is not one
        return b"", b""
    body = wire.read(size)
    return body[1:1 + body[0]], body[1 + body[0]:]


def properties(body: bytes) -> dict[str, bytes]:
    """A READY command's properties, names in lower case (ZMTP compares them case-insensitively)."""
    found, at = {}, 0
    while at < len(body):
        key_end = at + 1 + body[at]
        (size,) = struct.unpack(">I", body[key_end:key_end + 4])
        found[body[at + 1:key_end].decode("ascii", "replace").lower()] = body[key_end + 4:key_end + 4 + size]
        at = key_end + 4 + size
    return found


def refusal(address: str, own_type: str, peer_type: str | None, peer_name: str) -> str:
    """The sentence for a ZeroMQ socket of `peer_type` (None: not learnt) that refused ours."""
    partners = " or a ".join(PARTNERS.get(own_type, ()))
    what = f"{peer_type} socket, which refuses" if peer_type else "socket of a type that refuses"
    told = f"whatever listens at {address} is a ZeroMQ {what} a {own_type} socket"
    told += f" (a {own_type} talks only to a {partners})" if partners else ""
    if peer_type is None:
        return f"{told}; a second look did not learn which type"
    if (own_type, peer_type) == ("REQ", "DEALER"):
        return f"{told}: is it a zmq broker's --back? requesters connect to its --front"
    if (own_type, peer_type) == ("REP", "ROUTER"):
        return f"{told}: is it a zmq broker's --front? responders connect to its --back"
    return f"{told}: it is not a {peer_name}"


class Wire:
    """A connection read and written in whole pieces, every call within the look's one deadline."""

    def __init__(self, connection: socket.socket, deadline: float) -> None:
        self.connection, self.deadline = connection, deadline

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the peer said too little in time")
        return left

    def send(self, data: bytes) -> None:
        self.connection.settimeout(self.remaining())
        self.connection.sendall(data)

    def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            self.connection.settimeout(self.remaining())
            piece = self.connection.recv(size - len(data))
            if not piece:
                raise ConnectionError("the peer hung up")
            data += piece
        return data
