"""A delaying TCP relay, the network between hosts on one machine (`--delay MS`, `--responder-delay MS`): it
holds every chunk the given time, one way, as `netem delay` would; connection set-up is not delayed.

It runs in a process of its own, so that its CPU and memory are not the run's. Threads rather than asyncio:
`time.sleep` wakes within tens of microseconds, an event loop's timers round up to epoll's millisecond.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import NamedTuple

from shared.core.config import START_DEADLINE, RunConfig
from shared.core.errors import UsageError
from shared.core.ports import free_port
from shared.core.supervisor import Supervisor

log = logging.getLogger(__name__)
CHUNK_BYTES = 256 * 1024
ACCEPT_POLL_SECONDS = 0.2  # how often the accept loop looks at its stop flag
JOIN_SECONDS = 1.0  # per thread, on the way out: a link's threads end within its delay once its sockets close
ROLE = "delay relay"
HOST = "127.0.0.1"  # a run's roles are all on this machine: so is the relay


class Route(NamedTuple):
    """Listen on `listen` and relay each connection to `target`, holding every chunk `delay` seconds."""

    listen: tuple[str, int]
    target: tuple[str, int]
    delay: float


class Relayed(NamedTuple):
    """The configurations of a run's two sides of the relay: the requesters' and the responders'."""

    requesters: RunConfig
    responders: RunConfig


class Link:
    """One relayed connection: per direction, a reader that stamps each chunk with its due time and a
    deliverer that writes it then. End of stream is passed on as a half close; an error ends both ways."""

    def __init__(self, client: socket.socket, upstream: socket.socket, delay: float) -> None:
        self.sockets = (client, upstream)
        self.delay = delay
        self._open = 2  # directions still carrying
        self._lock = threading.Lock()
        self.threads = [*self._direction(client, upstream), *self._direction(upstream, client)]
        for thread in self.threads:
            thread.start()

    def _direction(self, source: socket.socket, sink: socket.socket) -> list[threading.Thread]:
        held: queue.SimpleQueue = queue.SimpleQueue()  # unbounded: the peers here read as fast as they write
        return [threading.Thread(target=self._read, args=(source, held), name="relay reader"),
                threading.Thread(target=self._deliver, args=(sink, held), name="relay deliverer")]

    def _read(self, source: socket.socket, held: queue.SimpleQueue) -> None:
        try:
            while data := source.recv(CHUNK_BYTES):
                held.put((time.monotonic() + self.delay, data))
        except OSError:
            pass  # reset, or closed by the other direction: end of stream either way
        held.put((time.monotonic() + self.delay, b""))

    def _deliver(self, sink: socket.socket, held: queue.SimpleQueue) -> None:
        try:
            while True:
                due, data = held.get()  # the reader always ends its stream with b"": this wait ends
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)  # the delay itself, not a synchronisation
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    break
                sink.sendall(data)
        except OSError:
            self.close()  # the peer is gone: so is the connection, both ways
            return
        with self._lock:
            self._open -= 1
            finished = self._open == 0
        if finished:
            self.close()

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def close(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
            sock.close()


def relay(routes: list[Route], ready, stop: threading.Event | None = None) -> None:
    """Relay every route until `stop` is set or SIGTERM ends the process; `ready` once every route listens."""
    stop = stop or threading.Event()
    listeners = {socket.create_server(route.listen): route for route in routes}
    links: list[Link] = []
    try:
        ready.set()
        while not stop.is_set():
            readable, _, _ = select.select(list(listeners), [], [], ACCEPT_POLL_SECONDS)
            for listener in readable:
                link = accept(listener, listeners[listener])
                if link is not None:
                    links.append(link)
            links = [link for link in links if link.alive]
    finally:
        for listener in listeners:
            listener.close()
        for link in links:
            link.close()
        for link in links:
            for thread in link.threads:
                thread.join(JOIN_SECONDS)


def accept(listener: socket.socket, route: Route) -> Link | None:
    client, _ = listener.accept()
    try:
        upstream = socket.create_connection(route.target, timeout=START_DEADLINE)
    except OSError:
        client.close()  # nothing listens behind us: the client sees its connection end, and may try again
        return None
    upstream.settimeout(None)
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the delay is ours alone
    return Link(client, upstream, route.delay)


def routes_for(config: RunConfig) -> tuple[list[Route], Relayed]:
    """The relay's routes for a run's delays, and the configurations of the roles that go through them."""
    transport = config.transport
    routes, requesters, responders = [], config, config
    if config.delay_ms is not None:
        listen = (HOST, free_port(HOST))
        routes.append(Route(listen, transport.host_port(config.address), config.delay_ms / 1000))
        requesters = config.with_(address=transport.address_for(*listen))
    if config.responder_delay_ms is not None:
        try:
            behind = transport.responders_reach(config)
        except UsageError as error:
            raise UsageError(f"--responder-delay needs a network between the responders and the "
                             f"{transport.server_role}: {error}") from None
        listen = (HOST, free_port(HOST))
        routes.append(Route(listen, transport.host_port(behind), config.responder_delay_ms / 1000))
        responders = transport.responders_via(config, transport.address_for(*listen))
    return routes, Relayed(requesters, responders)


@contextlib.contextmanager
def relayed(config: RunConfig) -> Iterator[Relayed]:
    """The relay a run asked for, while the block runs; yields the requesters' and responders' configurations."""
    routes, sides = routes_for(config)
    if not routes:
        yield sides
        return
    with Supervisor("processes") as roles:
        roles.start(ROLE, relay, routes, roles.ready(ROLE))
        roles.wait_ready([ROLE], START_DEADLINE)
        for route in routes:
            log.info("%s on %s:%d for %s:%d, %g ms one way", ROLE, *route.listen, *route.target, route.delay * 1000)
        yield sides
