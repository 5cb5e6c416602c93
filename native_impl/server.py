"""The response side's manager server: a multiprocessing.managers server holding one shared request queue
(responders compete for it, as REP sockets behind a DEALER do) and one reply queue per requester.

This plays the part of Racket's distributed places: Python objects, pickled for you, over TCP with a key.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import secrets
import socket
import threading
import time
import weakref
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client
from multiprocessing.managers import BaseManager, dispatch

from native_impl.connection import serializer
from shared.config import AUTHKEY_VARIABLE, RunConfig, UsageError, parse_host_port

log = logging.getLogger(__name__)
ROLE = "server"
CONNECT_RETRY_SECONDS = 0.1
SIGNAL_POLL_SECONDS = 0.2
BACKLOG = 4096  # connections waiting to be accepted (the kernel caps it at net.core.somaxconn)
PROBE_SECONDS = 1.0  # one attempt to reach the server's port; a peer not there by then is announced as awaited


class Board:
    """The server's state: the shared request queue and a reply queue per requester key.

    Reply queues live as long as some proxy refers to them: the manager holds each one while it is shared,
    and the weak dictionary forgets it afterwards, so a long-running server does not grow with each run.

    The queues are SimpleQueues: the server's threads spend most of their time in put() and get(), and a
    SimpleQueue does both in C, where a queue.Queue runs a Condition's Python code in each (about a fifth of
    the server's instructions per request). Nothing here needs what Queue adds: maxsize, task_done, join."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._replies: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def requests(self) -> queue.SimpleQueue:
        return self._requests

    def replies(self, key: int) -> queue.SimpleQueue:
        with self._lock:
            found = self._replies.get(key)
            if found is None:
                found = self._replies[key] = queue.SimpleQueue()
            return found

    def reply(self, key: int, item: tuple) -> None:
        """A responder's answer, put into its requester's queue here on the server: one call, and no proxy
        per requester for the responder to create (each one costs new authenticated connections)."""
        self.replies(key).put(item)

    # ---- batches: one manager call moves many items (the tuned use of managers, --batch) ----------------
    def put_requests(self, items: list) -> None:
        for item in items:
            self._requests.put(item)

    def take_requests(self, most: int, timeout: float | None = None) -> list:
        """Wait for one request, then take whatever else is there, up to `most` in all."""
        return _drain(self._requests, most, timeout)

    def take_replies(self, key: int, most: int, timeout: float | None = None) -> list:
        return _drain(self.replies(key), most, timeout)

    def reply_many(self, answers: list) -> None:
        for key, item in answers:
            self.replies(key).put(item)

    def stop(self, responders: int) -> None:
        """Wake everybody blocked in get(): one None per responder, one per reply queue."""
        for _ in range(responders):
            self._requests.put(None)
        with self._lock:
            waiting = list(self._replies.values())
        for replies in waiting:
            replies.put(None)


def reply_key() -> int:
    """A requester's reply key: random, so that concurrent runs never share replies (62 bits, where a uuid's
    12 hex digits gave 48), and an int, the cheapest key to carry in every request and to look up on the
    server: a string is decoded, and its hash computed, at every message that carries it."""
    return secrets.randbits(62)


def _drain(source: queue.SimpleQueue, most: int, timeout: float | None) -> list:
    taken = [source.get(True, timeout)]
    while len(taken) < most and taken[-1] is not None:
        try:
            taken.append(source.get_nowait())
        except queue.Empty:
            break
    return taken


class BoardClient(BaseManager):
    """The requesters' and responders' view of the server: proxies, no state."""


BoardClient.register("board")
BoardClient.register("Queue")


def needed(config: RunConfig) -> bool:
    """Both examples need the server: managers have no peer-to-peer mode."""
    return True


def _server_for(board: Board, address: tuple[str, int], authkey: bytes, stock: bool):
    class BoardServer(BaseManager):
        pass

    BoardServer.register("board", callable=lambda: board,
                         method_to_typeid={"requests": "Queue", "replies": "Queue"})
    BoardServer.register("Queue")
    try:
        server = BoardServer(address=address, authkey=authkey, serializer=serializer(stock)).get_server()
        # The managers listen with a backlog of 16: a thousand requesters connecting at once would see their
        # connections dropped and retried for seconds. listen() again on Linux just resizes the backlog.
        server.listener._listener._socket.listen(BACKLOG)
        return server
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"port {address[1]} is already in use ({address[0]}:{address[1]})") from None
        raise UsageError(f"cannot listen on {address[0]}:{address[1]}: {error.strerror}") from None


def _accept(server) -> None:
    """The manager's accept loop, ours so that it can end: the stock one retries forever, even once closed."""
    while True:
        try:
            connection = server.listener.accept()
        except OSError:
            if server.stop_event.is_set():
                return
            continue
        if server.stop_event.is_set():
            connection.close()
            return
        # One thread per client connection, as in the stock server; it ends when the client disconnects.
        threading.Thread(target=server.handle_request, args=(connection,), daemon=True).start()


def _wake(address: tuple[str, int]) -> None:
    host = "127.0.0.1" if address[0] in ("", "0.0.0.0") else address[0]
    try:
        socket.create_connection((host, address[1]), timeout=1).close()
    except OSError:
        pass  # the listener is already gone


def serve(config: RunConfig, ready) -> None:
    """Run the manager server until interrupted (SIGTERM in its own process, `stop_threads` in threads)."""
    address = parse_host_port(config.address)
    server = _server_for(Board(), address, config.authkey, config.stock_managers)
    server.stop_event = threading.Event()  # serve_client() polls it; serve_forever() would have made it
    accepter = threading.Thread(target=_accept, args=(server,), name="manager accepter", daemon=True)
    try:
        accepter.start()
        ready.set()
        # Set by the managers' own 'shutdown' message. Waiting in slices lets SIGTERM in: the kernel may hand
        # it to any thread, and only a main thread that wakes up runs Python's handler.
        while not server.stop_event.wait(SIGNAL_POLL_SECONDS):
            pass
    finally:
        server.stop_event.set()
        _wake(address)
        accepter.join(timeout=5)
        server.listener.close()


def connect(config: RunConfig, who: str = "", level: int = logging.WARNING):
    """Connect to the server, waiting for it until the timeout (it may start after us, or on another host);
    return the board proxy. With `who`, a role that has to wait says so at `level`, as a zmq role does (see
    shared.roles.notice_level)."""
    address = parse_host_port(config.address)
    client = BoardClient(address=address, authkey=config.authkey, serializer=serializer(config.stock_managers))
    deadline = time.monotonic() + config.timeout
    told = not who
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise UsageError(f"no native server answered at {config.address} within {config.timeout:g} s")
        # The managers' own connect has no deadline: across hosts, a port that drops packets would hold it for
        # minutes. A plain TCP connection with one is tried first; the server shrugs it off.
        if not _reachable(address, min(remaining, PROBE_SECONDS)):
            if not told:
                log.log(level, "%s: waiting for the native server at %s (up to %g s)", who, config.address,
                        config.timeout)
                told = True
            time.sleep(min(CONNECT_RETRY_SECONDS, max(0.0, deadline - time.monotonic())))  # a retry interval
            continue
        try:
            client.connect()
            return client.board()
        except AuthenticationError:
            raise UsageError(f"authentication with the native server at {config.address} failed: "
                             f"wrong key ({AUTHKEY_VARIABLE})") from None
        except ConnectionRefusedError:
            continue  # it went between the probe and the connection: wait for it again
        except (EOFError, ConnectionResetError):
            raise UsageError(f"the server at {config.address} closed the connection: "
                             f"is it a reqrep native server?") from None


def _reachable(address: tuple[str, int], seconds: float) -> bool:
    try:
        socket.create_connection(address, timeout=seconds).close()
    except OSError:  # refused, timed out, no route to the host yet
        return False
    return True


def disconnect(*proxies) -> None:
    """Release proxies and close this thread's connection to the server now, not when garbage collected."""
    for proxy in proxies:
        proxy._close()  # the proxy's finalizer: decref on the server
    for proxy in proxies:
        connection = getattr(proxy._tls, "connection", None)
        if connection is not None:
            connection.close()
            del proxy._tls.connection


_held: weakref.WeakSet = weakref.WeakSet()  # this process's connections to a server, held by roles that are threads


def hold(proxy) -> None:
    """Note the calling thread's connection to the server (one per thread, shared by its proxies), so that
    `stop_requesters` can wake a call blocked in it."""
    connection = getattr(proxy._tls, "connection", None)
    if connection is not None:
        _held.add(connection)


def hang_up(connection) -> None:
    """Shut a manager connection down from any thread: a call blocked in it wakes with EOFError at once,
    where closing it would leave that call waiting."""
    try:
        with socket.socket(fileno=os.dup(connection.fileno())) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


def stop_requesters(config: RunConfig) -> None:
    """Stop requesters running as threads of this process against a server that is not ours to stop: hang
    up their connections (`stop_threads` would stop the server, which others may be using)."""
    for connection in list(_held):
        hang_up(connection)


def remote_reason(error: Exception) -> str:
    """The last line of the server's traceback that a RemoteError carries: the exception, in one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip().strip("-")]
    return lines[-1] if lines else type(error).__name__


def stop_threads(config: RunConfig) -> None:
    """Stop every native role running as a thread of this process: wake the blocked get() calls with None,
    then ask the server to stop through the managers' own 'shutdown' message."""
    address = parse_host_port(config.address)
    try:
        board = connect(config.with_(timeout=1.0))
        try:
            board.stop(config.responders)
        finally:
            disconnect(board)
        with Client(address, authkey=config.authkey) as connection:
            dispatch(connection, None, "shutdown")
    except (UsageError, OSError, EOFError):
        pass  # no server to stop
