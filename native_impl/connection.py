"""The client side of the managers: the connections (TCP_NODELAY, and a deadline on the handshake; the
server's side of it is gate.py), the shared key, the wait for the server with a deadline, and closing a
connection from any thread.

multiprocessing.connection writes a message's 4-byte length and its body in two `send` calls when the body
is larger than 16 KiB, and the authentication handshake is a volley of small messages. With Nagle's
algorithm on, the second write waits for the ACK of the first, which the receiver delays by up to 40 ms:
every large message and every new connection pays it. ZeroMQ turns Nagle off on its TCP sockets; these do
the same (`--stock-managers` leaves it on). Both kinds are registered under a `serializer` name of their own
(internals.register_connections).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
import threading
import time
import weakref
from contextlib import contextmanager
from multiprocessing import AuthenticationError, connection
from multiprocessing.managers import BaseManager

from native_impl import internals
from native_impl.addresses import dial, family_of, manager_address
from shared.core.config import LISTEN_BACKLOG, RunConfig
from shared.core.errors import UsageError
from shared.core.peers import Peer

NODELAY, NAGLE = "pickle-nodelay", "pickle-nagle"
AUTHKEY_VARIABLE = "REQREP_AUTHKEY"
# The digest of the HMAC challenges this Python's multiprocessing sends: SHA-256 from 3.12 (offered first of
# the ones it accepts), MD5 before; reports name it as the native variant's security.
CHALLENGE_DIGEST = "HMAC-SHA256" if sys.version_info >= (3, 12) else "HMAC-MD5"
KEY_MIN_BYTES = 8  # a shared key shorter than this is refused: a guess away from owning the server
CONNECT_RETRY_SECONDS = 0.1
PROBE_SECONDS = 1.0  # one attempt to reach the server's port; a peer not there by then is said to be awaited
handshake_seconds = 10.0  # this process's deadline on a connection's handshake: the run's timeout (`connect`)
_setting_up = threading.local()  # `connect` under way on this thread: its connections keep the deadline


def _socket_of(conn: connection.Connection) -> socket.socket:
    """A second descriptor of the connection's socket: options belong to the socket, and closing the copy
    leaves the connection open."""
    return socket.socket(fileno=os.dup(conn.fileno()))


def _deadline(conn: connection.Connection, seconds: float) -> None:
    """Every read and write on the connection fails after `seconds` (0: waits forever again)."""
    whole, part = int(seconds), int((seconds % 1) * 1_000_000)
    with _socket_of(conn) as view:
        for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
            view.setsockopt(socket.SOL_SOCKET, option, struct.pack("ll", whole, part))


def keep_deadline(conn: connection.Connection, seconds: float) -> None:
    """Every read and write on an open connection fails after `seconds` (BlockingIOError): a one-hop call's
    wait for its answer (one_hop.py)."""
    _deadline(conn, seconds)


def _tune(conn: connection.Connection, nodelay: bool) -> None:
    with _socket_of(conn) as view:
        if nodelay and view.family in (socket.AF_INET, socket.AF_INET6):
            view.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Listener:
    """The server's listening socket, made by the managers' server as it makes its listener (`address`: a
    host and port, or a socket file's path; `backlog`), the socket in view: the gate (gate.py) accepts from it
    and turns Nagle's algorithm off on each TCP connection unless `nodelay` is off, before the handshake,
    which would stall too. A socket file is removed on close, if it is still this listener's."""

    nodelay = True

    def __init__(self, address: tuple | str, family=None, backlog: int = 1, authkey=None) -> None:
        # an IPv6 host, ::1 say, needs its family named; LISTEN_BACKLOG, not the managers' 16
        self.socket = socket.socket(family_of(address))
        self.file: tuple[str, int] | None = None  # a socket file's path and inode, to remove on close
        try:
            if isinstance(address, str):
                self.nodelay = False  # no Nagle on a local socket: nothing to turn off
            else:
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            if isinstance(address, str):
                self.file = (address, os.lstat(address).st_ino)
            self.socket.listen(max(backlog, LISTEN_BACKLOG))
            self.address = self.socket.getsockname()
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        self.socket.close()
        if self.file is not None:
            path, inode = self.file
            self.file = None
            with contextlib.suppress(OSError):  # gone already, or another listener's by now: left alone
                if os.lstat(path).st_ino == inode:
                    os.unlink(path)


class NagleListener(Listener):
    nodelay = False


def _client(address, authkey, nodelay: bool) -> connection.Connection:
    """A connection to the server, the handshake done within `handshake_seconds`: a port that accepts and
    never answers fails it instead of holding the caller forever. The connections of `connect` (its manager
    calls: dummy, create, incref, get_methods) keep the deadline after the handshake too: a peer that takes
    the key and then says nothing fails them as well."""
    raw = dial(address, handshake_seconds)
    raw.settimeout(None)  # the deadline below is the kernel's: the connection reads the descriptor itself
    opened = connection.Connection(raw.detach())
    try:
        _tune(opened, nodelay)
        if authkey is not None:
            _deadline(opened, handshake_seconds)
            connection.answer_challenge(opened, authkey)
            connection.deliver_challenge(opened, authkey)
            if not getattr(_setting_up, "active", False):
                _deadline(opened, 0)  # a get() waits for a reply as long as the caller asked
    except BaseException:
        opened.close()
        raise
    return opened


def Client(address, family=None, authkey=None) -> connection.Connection:  # noqa: N802 (the stdlib's name)
    return _client(address, authkey, nodelay=True)


def NagleClient(address, family=None, authkey=None) -> connection.Connection:  # noqa: N802
    return _client(address, authkey, nodelay=False)


internals.register_connections(NODELAY, Listener, Client)
internals.register_connections(NAGLE, NagleListener, NagleClient)


def serializer(stock: bool) -> str:
    return NAGLE if stock else NODELAY


def load_authkey(path: str | None = None) -> bytes:
    """The shared key: from a file if one is named (whitespace at its ends, a line end say, is not part of
    it), else from REQREP_AUTHKEY. Never from the command line, where `ps` would show it to everyone on the
    machine. There is no default key, and none too weak to be a secret (see `strong_enough`)."""
    if path:
        try:
            with open(path, "rb") as source:
                key = source.read()
        except OSError as error:
            raise UsageError(f"cannot read the key file {path}: {error.strerror}") from None
        return strong_enough(key, f"the key file {path}").strip()
    key = os.environ.get(AUTHKEY_VARIABLE)
    if key is None:
        raise UsageError(f"{AUTHKEY_VARIABLE} is not set and no --authkey-file was given: the native server "
                         f"and its peers need a shared key")
    return strong_enough(key.encode(), AUTHKEY_VARIABLE)


def strong_enough(key: bytes, source: str) -> bytes:
    """`key`, unless it is empty, nothing but whitespace, or shorter than KEY_MIN_BYTES without it: whoever
    guesses the key owns the server and every responder (unpickling runs the sender's code)."""
    if not key:
        problem = "is empty"
    elif not key.strip():
        problem = "holds nothing but whitespace"
    elif len(key.strip()) < KEY_MIN_BYTES:
        problem = f"holds a key of {len(key.strip())} bytes, too short to be a secret"
    else:
        return key
    raise UsageError(f"{source} {problem}: the native server and its peers need a shared key of "
                     f"{KEY_MIN_BYTES} bytes or more (a random one: python3 -c 'import secrets; "
                     f"print(secrets.token_urlsafe())')")


class BoardClient(BaseManager):
    """The requesters' and responders' view of the server: proxies, no state."""


BoardClient.register("board")
BoardClient.register("Queue")


def connect(config: RunConfig, peer: Peer):
    """Connect to the server, waiting for it until the handshake deadline (it may start after us, or on
    another host); return the board proxy. A role that has to wait says so, at the peer's level."""
    global handshake_seconds
    handshake_seconds = seconds = config.handshake_seconds
    address = manager_address(config.address)
    client = BoardClient(address=address, authkey=config.settings.authkey,
                         serializer=serializer(config.settings.stock_managers))
    deadline = time.monotonic() + seconds
    told = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise UsageError(f"no {peer.name} answered at {peer.address} within {seconds:g} s")
        # The managers' own connect has no deadline: across hosts, a port that drops packets would hold it for
        # minutes. A plain TCP connection with one is tried first; the server shrugs it off.
        if not _reachable(address, min(remaining, PROBE_SECONDS)):
            if not told:
                peer.say("waiting for", f" (up to {seconds:g} s)")
                told = True
            time.sleep(min(CONNECT_RETRY_SECONDS, max(0.0, deadline - time.monotonic())))  # a retry interval
            continue
        try:
            with _setup():
                client.connect()
                return client.board()
        except AuthenticationError:
            raise UsageError(f"authentication with the native server at {config.address} failed: "
                             f"wrong key ({AUTHKEY_VARIABLE})") from None
        except ConnectionRefusedError:
            continue  # it went between the probe and the connection: wait for it again
        except (BlockingIOError, TimeoutError):
            raise UsageError(f"whatever listens at {config.address} did not answer the managers' handshake "
                             f"within {seconds:g} s: it is not a reqrep native server, or one that is stuck"
                             ) from None
        except (EOFError, ConnectionResetError, AssertionError, OSError):
            raise UsageError(f"whatever listens at {config.address} is not a reqrep native server (it broke "
                             f"off the managers' handshake)") from None


@contextmanager
def _setup():
    _setting_up.active = True
    try:
        yield
    finally:
        _setting_up.active = False


def lost(peer: Peer, error: BaseException) -> str:
    """What a role says of its server gone mid-run (a connection reset, EOF): the server's queues went with
    it, so there is nothing to reconnect to, unlike a zmq peer (see zmq_impl/connection.PeerWatch)."""
    return f"lost the {peer.name} at {peer.address}: {error!r}"


def _reachable(address: tuple[str, int] | str, seconds: float) -> bool:
    try:
        dial(address, seconds).close()
    except OSError:  # refused, timed out, no route to the host yet
        return False
    return True


def disconnect(*proxies) -> None:
    """Release proxies and close this thread's connection to the server now, not when garbage collected."""
    for proxy in proxies:
        internals.release(proxy)
    for proxy in proxies:
        opened = internals.thread_connection(proxy)
        if opened is not None:
            opened.close()
            internals.forget_thread_connection(proxy)


_held: weakref.WeakSet = weakref.WeakSet()  # this process's connections to a server, held by thread roles


def hold(proxy) -> None:
    """Note the calling thread's connection to the server (one per thread, shared by its proxies), so that
    `stop_requesters` can wake a call blocked in it."""
    opened = internals.thread_connection(proxy)
    if opened is not None:
        _held.add(opened)


def hang_up(opened: connection.Connection) -> None:
    """Shut a manager connection down from any thread: a call blocked in it wakes with EOFError at once,
    where closing it would leave that call waiting."""
    try:
        with _socket_of(opened) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


def stop_requesters(config: RunConfig) -> None:
    """Stop requesters running as threads of this process against a server that is not ours to stop: hang
    up their connections (`stop_threads` would stop the server, which others may be using)."""
    for opened in list(_held):
        hang_up(opened)


def remote_reason(error: Exception) -> str:
    """The last line of the server's traceback that a RemoteError carries: the exception, in one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip().strip("-")]
    return lines[-1] if lines else type(error).__name__
