"""A threaded server over `multiprocessing.connection`, what the managers are built on, without their queues:
a thread per connection receives each request's bytes and sends the answer back."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from multiprocessing.connection import Client as connect_to
from multiprocessing.connection import Connection, Listener

from shared.bench.peers.peer import Answer, Peer

JOIN_SECONDS = 1.0  # each connection's thread, once its connection is closed


class ConnectionClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.connection, self.timeout = connect_to((host, port)), timeout

    def call(self, message: bytes) -> bytes:
        try:
            self.connection.send_bytes(message)
            answered = self.connection.poll(self.timeout)
            reply = self.connection.recv_bytes() if answered else None
        except (EOFError, OSError) as error:
            raise ConnectionError(f"the server went away: {error}") from error
        if reply is None:
            raise TimeoutError(f"no reply within {self.timeout:g} s")
        return reply

    def close(self) -> None:
        self.connection.close()


def answering(connection: Connection, answer: Answer) -> None:
    """One connection's thread: until the client leaves, or the server hangs up."""
    receive, send = connection.recv_bytes, connection.send_bytes
    try:
        while True:
            send(answer(receive()))
    except (EOFError, OSError):
        pass


def hang_up(connection: Connection) -> None:
    """Shut the connection's socket down, which wakes its thread's receive (a close alone would not)."""
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(connection.fileno())) as sock:
        sock.shutdown(socket.SHUT_RDWR)


class ConnectionPeer(Peer):
    name = "connection"
    label = "multiprocessing.connection, threaded"
    module = "multiprocessing.connection"
    title = "multiprocessing.connection: bytes over a Listener, a thread per connection (no managers, no queues)"
    hops = "client → server thread: 1 hop"

    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        connections: list[Connection] = []
        threads: list[threading.Thread] = []
        with Listener((host, port)) as listener:
            try:
                ready.set()
                while True:
                    connection = listener.accept()
                    thread = threading.Thread(target=answering, args=(connection, answer),
                                              name=f"connection {len(threads)}")
                    connections.append(connection)
                    threads.append(thread)
                    thread.start()
            finally:
                for connection in connections:
                    hang_up(connection)
                for thread in threads:
                    thread.join(JOIN_SECONDS)
                for connection in connections:
                    connection.close()

    def connect(self, host: str, port: int, timeout: float) -> ConnectionClient:
        return ConnectionClient(host, port, timeout)
