"""The listening side of the managers: a multiprocessing.managers server holding one shared request queue
(responders pull from it, each taking a request when it is free) and one reply queue per requester. Its
door (gate.py) authenticates every new connection within the run's timeout."""

from __future__ import annotations

import errno
import queue
import threading
import weakref
from multiprocessing.managers import BaseManager, dispatch

from native_impl import internals
from native_impl.addresses import UNIX, manager_address
from native_impl.connection import Client, connect, disconnect, serializer
from native_impl.gate import Gate
from shared.core.config import RunConfig
from shared.core.errors import UsageError
from shared.core.local import claim
from shared.core.peers import Peer

SIGNAL_POLL_SECONDS = 0.2


class Board:
    """The server's state: the shared request queue and a reply queue per requester key. A reply queue lives
    while some proxy refers to it (a weak dictionary), so a long-running server does not grow with each run.
    SimpleQueues: their put() and get() run in C, where queue.Queue runs a Condition's Python code in each,
    and nothing here needs maxsize, task_done or join."""

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


def _drain(source: queue.SimpleQueue, most: int, timeout: float | None) -> list:
    taken = [source.get(True, timeout)]
    while len(taken) < most and taken[-1] is not None:
        try:
            taken.append(source.get_nowait())
        except queue.Empty:
            break
    return taken


def _server_for(board: Board, address: tuple[str, int] | str, authkey: bytes, stock: bool):
    """The managers' server listening at `address` (a host and port, or a socket file's path: a stale file
    there is claimed first, see shared.core.local.claim)."""
    class BoardServer(BaseManager):
        pass

    BoardServer.register("board", callable=lambda: board,
                         method_to_typeid={"requests": "Queue", "replies": "Queue"})
    BoardServer.register("Queue")
    if isinstance(address, str):
        where = f"{UNIX}{address}"
        claim(address, where)
    else:
        where = f"[{address[0]}]:{address[1]}" if ":" in address[0] else f"{address[0]}:{address[1]}"
    try:
        return BoardServer(address=address, authkey=authkey, serializer=serializer(stock)).get_server()
    except OSError as error:
        if error.errno == errno.EADDRINUSE and not isinstance(address, str):
            raise UsageError(f"port {address[1]} is already in use ({where})") from None
        raise UsageError(f"cannot listen on {where}: {error.strerror}") from None


def serve(config: RunConfig, ready, board: Board | None = None) -> None:
    """Run the manager server until interrupted (SIGTERM in its own process, `stop_threads` in threads). The
    gate runs in this thread, in slices: SIGTERM gets in between two of them. `board`: the one-hop shape's
    (one_hop.py)."""
    server = _server_for(board or Board(), manager_address(config.address), config.settings.authkey,
                         config.settings.stock_managers)
    stop = internals.stop_flag(server)  # set by the managers' own 'shutdown' message too
    try:
        ready.set()
        Gate(server, config.handshake_seconds).run(stop, SIGNAL_POLL_SECONDS)
    finally:
        stop.set()
        internals.listener_of(server).close()


def stop_threads(config: RunConfig) -> None:
    """Stop every native role running as a thread of this process: wake the blocked get() calls with None,
    then ask the server to stop through the managers' own 'shutdown' message."""
    address = manager_address(config.address)
    try:
        board = connect(config.with_(timeout=1.0), Peer("reqrep", config.role("server"), config.address))
        try:
            board.stop(config.responders)
        finally:
            disconnect(board)
        with Client(address, authkey=config.settings.authkey) as connection:
            dispatch(connection, None, "shutdown")
    except (UsageError, OSError, EOFError):
        pass  # no server to stop
