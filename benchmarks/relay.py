"""A delaying TCP relay: forwards TCP both ways and holds every chunk D ms, one way, before passing it on.
It stands in for the network delay that `tc qdisc ... netem delay` would add, on kernels without netem.

    python benchmarks/relay.py --delay-ms 2 --route 127.0.0.1:0=127.0.0.1:5555 [--route LISTEN=TARGET ...]

Once listening it prints one line per route, `relay serving on HOST:PORT -> HOST:PORT` (port 0 picks a free
one), and runs until SIGTERM, Ctrl-C or --lifetime seconds. Connection set-up is not delayed, only the
bytes. Threads rather than asyncio: `time.sleep` wakes within tens of microseconds of its deadline, while an
event loop's timers round up to the millisecond of epoll, which would add up to 1 ms to every crossing.
"""

from __future__ import annotations

import argparse
import queue
import select
import signal
import socket
import threading
import time

CHUNK_BYTES = 256 * 1024
ACCEPT_POLL_SECONDS = 0.2  # how often the accept loop looks at its stop flag and lifetime
JOIN_SECONDS = 5.0


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def parse_route(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    listen, _, target = text.partition("=")
    return parse_address(listen), parse_address(target)


class Link:
    """One relayed connection: per direction, a reader that stamps each chunk with its due time and a
    deliverer that writes it then, in order. End of stream is passed on as a half close, after its delay;
    an error on either side ends the whole connection."""

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
                due, data = held.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
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

    def close(self) -> None:
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
            except OSError:
                pass
            sock.close()


def serve(routes: list, delay: float, lifetime: float) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    listeners = {socket.create_server(listen): target for listen, target in routes}
    links: list[Link] = []
    try:
        for listener, target in listeners.items():
            host, port = listener.getsockname()[:2]
            print(f"relay serving on {host}:{port} -> {target[0]}:{target[1]} (delay {delay * 1000:g} ms)",
                  flush=True)
        deadline = time.monotonic() + lifetime
        while not stop.is_set() and time.monotonic() < deadline:
            ready, _, _ = select.select(list(listeners), [], [], ACCEPT_POLL_SECONDS)
            for listener in ready:
                client, _ = listener.accept()
                try:
                    upstream = socket.create_connection(listeners[listener])
                except OSError:
                    client.close()  # nothing listens behind us: the client sees its connection end
                    continue
                for sock in (client, upstream):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the delay is ours alone
                links.append(Link(client, upstream, delay))
            links = [link for link in links if any(thread.is_alive() for thread in link.threads)]
    finally:
        for listener in listeners:
            listener.close()
        for link in links:
            link.close()
        for link in links:
            for thread in link.threads:
                thread.join(JOIN_SECONDS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--route", type=parse_route, action="append", required=True, metavar="LISTEN=TARGET",
                        help="listen on HOST:PORT and relay each connection to HOST:PORT")
    parser.add_argument("--delay-ms", type=float, default=2.0, help="one-way delay per chunk (default 2)")
    parser.add_argument("--lifetime", type=float, default=3600.0, help="exit after this many seconds")
    arguments = parser.parse_args()
    serve(arguments.route, arguments.delay_ms / 1000, arguments.lifetime)
