"""The native server's door: one thread runs the managers' authentication for every connection at once, as
their bytes come, each within the run's timeout; only a client that proved it holds the key gets a thread.

Native only: the stock server gives each connection a thread at once, waiting for its answer with no
deadline, so anyone who reaches the port holds a thread for ever; libzmq's handshake has a deadline.
The challenges are the standard library's own, run on a scripted connection, to follow the Python in use.
"""

from __future__ import annotations

import errno
import hmac
import logging
import selectors
import socket
import struct
import threading
import time
from collections import OrderedDict
from multiprocessing import connection, managers

from native_impl import internals

log = logging.getLogger(__name__)
PENDING_MAX = 1024  # connections waiting for authentication; past it the oldest is closed to make room
ACCEPTS_PER_ROUND = 64  # a flood of connections does not keep the gate from the handshakes under way
MESSAGE_MAX = 256  # the stock server reads no handshake message longer (recv_bytes(256))
_LENGTH = struct.Struct("!i")  # multiprocessing.connection's header: a message's length
_SHORT_OF = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}  # accept() failing for want of room


class _Paused(Exception):
    """A challenge function wants the next message, which has not come yet."""


class _Script:
    """A stand-in connection for the standard library's challenge functions: it hands them the messages
    given, keeps what they send, and pauses them when they wait for more."""

    def __init__(self, *incoming: bytes) -> None:
        self.incoming, self.sent = list(incoming), []

    def send_bytes(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        if not self.incoming:
            raise _Paused()
        return self.incoming.pop(0)


def _first_said(steps, authkey: bytes, *incoming: bytes) -> bytes:
    """What this Python's `deliver_challenge` (a new challenge) or `answer_challenge` (the answer to the
    challenge `incoming`) sends first."""
    script = _Script(*incoming)
    try:
        steps(script, authkey)
    except _Paused:
        pass
    return script.sent[0]


def _answer(authkey: bytes, challenge: bytes) -> bytes:
    return _first_said(connection.answer_challenge, authkey, challenge)


def _accepts(authkey: bytes, challenge: bytes, response: bytes) -> bool:
    """Whether `response` answers our `challenge`: as this Python answers it, or with HMAC-MD5, which the
    standard library's own server accepts from an older client (3.12 and later; the same digest before)."""
    legacy = hmac.new(authkey, challenge[len(connection.CHALLENGE):], "md5").digest()
    return hmac.compare_digest(response, _answer(authkey, challenge)) or hmac.compare_digest(response, legacy)


class Admission:
    """One connection's authentication, the stock server's steps: our challenge and the peer's answer, then
    the peer's challenge and ours. `readable` reads no further than the message under way: what follows the
    last one is the client's first request, the managers' to read."""

    def __init__(self, sock: socket.socket, authkey: bytes, deadline: float) -> None:
        self.socket, self.authkey, self.deadline = sock, authkey, deadline
        self.step = self._answered
        self.buffer, self.need, self.header = bytearray(), _LENGTH.size, True
        self.heard = False  # whether the peer sent anything: a probe of the port (a requester's) never does
        self.proven = False  # whether the peer answered our challenge: it holds the key
        self.challenge = _first_said(connection.deliver_challenge, authkey)
        self._send(self.challenge)

    def _send(self, message: bytes) -> None:
        """Handshake messages are small and the socket's buffer empty: a short write means a broken peer."""
        data = _LENGTH.pack(len(message)) + message
        if self.socket.send(data) != len(data):
            raise ConnectionError("the peer does not read")

    def readable(self) -> bool:
        """Read what came; True once the peer is authenticated. Raises on a wrong key or a broken message,
        and ConnectionError when the peer went."""
        while True:
            try:
                chunk = self.socket.recv(self.need - len(self.buffer))
            except BlockingIOError:
                return False
            if not chunk:
                raise ConnectionError("the peer closed the connection")
            self.heard = True
            self.buffer += chunk
            if len(self.buffer) < self.need:
                continue
            if self.header:
                length = _LENGTH.unpack(self.buffer)[0]
                if not 0 <= length <= MESSAGE_MAX:
                    raise ConnectionError(f"a handshake message of {length} bytes")
                self.buffer, self.need, self.header = bytearray(), length, False
                if length:
                    continue
            message = bytes(self.buffer)
            self.buffer, self.need, self.header = bytearray(), _LENGTH.size, True
            if self.step(message):
                return True

    def _answered(self, response: bytes) -> bool:
        if not _accepts(self.authkey, self.challenge, response):
            self._send(connection.FAILURE)
            raise connection.AuthenticationError("digest received was wrong")
        self._send(connection.WELCOME)
        self.proven = True
        self.step = self._challenged
        return False

    def _challenged(self, challenge: bytes) -> bool:
        if not challenge.startswith(connection.CHALLENGE):
            raise connection.AuthenticationError("the peer sent no challenge")
        self._send(_answer(self.authkey, challenge))
        self.step = self._welcomed
        return False

    def _welcomed(self, response: bytes) -> bool:
        if response != connection.WELCOME:
            raise connection.AuthenticationError("digest sent was rejected")
        return True


class Gate:
    """The accepting thread's work: new connections in, authenticated ones handed to a thread of their own,
    the others closed at their deadline; never more than PENDING_MAX waiting."""

    def __init__(self, server: managers.Server, timeout: float) -> None:
        self.server, self.timeout = server, timeout
        listener = internals.listener_of(server)
        self.listener: socket.socket = listener.socket
        self.nodelay = listener.nodelay
        self.authkey = internals.authkey_of(server)
        self.pending: OrderedDict[int, Admission] = OrderedDict()  # by age: the oldest first
        self.selector = selectors.DefaultSelector()
        self.crowded = False  # whether PENDING_MAX was reached (said once)
        self.short = False  # whether accept() was short of descriptors or memory (said once)
        self.expired = 0  # connections closed at their deadline, not said yet
        self.next_word = 0.0  # when to say how many
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ)  # its key's data: None

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Until `stop` is set."""
        try:
            while not stop.is_set():
                self.step(poll_seconds)
        finally:
            self.close_all()

    def step(self, poll_seconds: float) -> None:
        """One batch of events, then the deadlines. An event may be for a connection an earlier one closed or
        handed over, its descriptor reused since: each key's admission must still be the one pending."""
        for key, _ in self.selector.select(self.wait(poll_seconds)):
            if key.data is None:
                self.accept()
            elif self.pending.get(key.fd) is key.data:
                self.advance(key.fd)
        self.expire(time.monotonic())

    def wait(self, poll_seconds: float) -> float:
        if not self.pending:
            return poll_seconds
        oldest = next(iter(self.pending.values()))
        return max(0.0, min(poll_seconds, oldest.deadline - time.monotonic()))

    def accept(self) -> None:
        for _ in range(ACCEPTS_PER_ROUND):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in _SHORT_OF:  # out of descriptors, say: the oldest waiting goes first
                    if not self.short:  # once: a flood would otherwise write a line for each connection
                        log.warning("native server: cannot accept a connection: %s (said once)",
                                    error.strerror)
                        self.short = True
                    self.make_room()
                    return
                continue  # a connection reset before it was accepted
            self.admit(sock)

    def admit(self, sock: socket.socket) -> None:
        if len(self.pending) >= PENDING_MAX:
            self.make_room()
        try:
            sock.setblocking(False)
            if self.nodelay:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            admission = Admission(sock, self.authkey, time.monotonic() + self.timeout)
        except OSError:  # reset already, say: that connection only
            sock.close()
            return
        self.pending[sock.fileno()] = admission
        self.selector.register(sock, selectors.EVENT_READ, admission)

    def make_room(self) -> None:
        if not self.crowded:
            log.warning("native server: %d connections wait for authentication: closing the oldest that "
                        "has not answered as more come (said once)", len(self.pending))
            self.crowded = True
        # The oldest that has not proved it holds the key: a flood of strangers cannot push out a client.
        oldest = next((fd for fd, admission in self.pending.items() if not admission.proven), None)
        if oldest is None and self.pending:
            oldest = next(iter(self.pending))
        if oldest is not None:
            self.close(oldest)

    def advance(self, fd: int) -> None:
        admission = self.pending[fd]
        try:
            done = admission.readable()
        except Exception as error:  # a wrong key, a broken message, a peer gone: that connection only
            if admission.heard or not isinstance(error, ConnectionError):
                log.info("native server: closed a connection that did not authenticate: %s", error)
            else:  # it only looked whether the port is open, as every requester and responder does first
                log.debug("native server: a connection closed before it said anything: %s", error)
            self.close(fd)
            return
        if done:
            self.hand_over(fd)

    def hand_over(self, fd: int) -> None:
        """The managers' own thread for an authenticated client, as the stock server starts one."""
        sock = self.pending.pop(fd).socket
        self.selector.unregister(sock)
        sock.setblocking(True)
        client = connection.Connection(sock.detach())
        try:
            threading.Thread(target=internals.handle_request, args=(self.server, client), daemon=True).start()
        except RuntimeError as error:  # no thread to be had: this client is refused, the server goes on
            log.warning("native server: cannot serve a client: %s", error)
            client.close()

    def expire(self, now: float) -> None:
        """Close the connections past their deadline; say how many, once a timeout at most."""
        while self.pending and next(iter(self.pending.values())).deadline <= now:
            self.close(next(iter(self.pending)))
            self.expired += 1
        if self.expired and now >= self.next_word:
            log.info("native server: closed %d connections that did not authenticate within %g s",
                     self.expired, self.timeout)
            self.expired, self.next_word = 0, now + self.timeout
        if not self.pending:
            self.crowded = self.short = False

    def close_all(self) -> None:
        """Every connection still waiting; the listener is the server's to close."""
        for fd in list(self.pending):
            self.close(fd)
        self.selector.close()

    def close(self, fd: int) -> None:
        sock = self.pending.pop(fd).socket
        self.selector.unregister(sock)
        sock.close()
