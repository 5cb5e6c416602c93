"""A third transport, written against shared/core/transport.py's required members only, changing no file of
shared/: length-prefixed frames over plain TCP sockets. A server routes each request to a free responder (a
thread per connection) and its reply back; the core's request loops number and verify them.

A frame is a header (the body's length, a request's number: ">Iq") and the body: the codec's bytes, or in a
connection's first frame who connects (b"requester" or b"responder"). Its asyncio roles are its blocking ones,
run in asyncio's threads."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import queue
import socket
import struct
import threading
import time

import msgpack

from shared.core import workload
from shared.core.channel import Stopped, complete
from shared.core.config import LOOPBACK, START_DEADLINE
from shared.core.errors import UsageError
from shared.core.pipeline import pipeline
from shared.core.ports import free_port
from shared.core.results import Tally
from shared.core.service_time import service_delay
from shared.core.transport import Transport
from shared.core.wire import Codec, Framing

HEADER = struct.Struct(">Iq")
POLL = 0.1  # seconds between a server's looks at whether it is stopping
CODECS = {"pickle": Codec("pickle", pickle.dumps, pickle.loads),
          "msgpack": Codec("msgpack", msgpack.packb, msgpack.unpackb)}
FRAMING = Framing(tag=int, join=lambda n, body: (n, body), expect=lambda n, body: (n, body),
                  answers=lambda reply, n: reply[0] == n, body=lambda reply: reply[1],
                  number=lambda reply: reply[0], listens=True)
OPEN: dict[str, set[socket.socket]] = {}  # address -> the sockets of this process's roles there (stop_threads)


def frame(n: int, body: bytes) -> bytes:
    return HEADER.pack(len(body), n) + body


class Frames:
    """A socket's frames, read with a deadline: a frame cut by the timeout stays in the buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def read(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self.buffer) < HEADER.size or len(self.buffer) < HEADER.size + HEADER.unpack_from(self.buffer)[0]:
            self.sock.settimeout(None if deadline is None else max(0.0, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                return None
            if not chunk:
                raise EOFError("the connection closed")
            self.buffer += chunk
        size, n = HEADER.unpack_from(self.buffer)
        body, self.buffer = self.buffer[HEADER.size:HEADER.size + size], self.buffer[HEADER.size + size:]
        return n, body


@contextlib.contextmanager
def connected(config, hello: bytes):
    """A connection to the server that said who it is, known to stop_threads while it is open."""
    try:
        sock = socket.create_connection(config.transport.host_port(config.address), config.handshake_seconds)
    except OSError as error:
        raise UsageError(f"cannot reach the plain server at {config.address}: {error.strerror}") from None
    OPEN.setdefault(config.address, set()).add(sock)
    try:
        sock.sendall(frame(0, hello))
        yield sock
    finally:
        OPEN[config.address].discard(sock)
        sock.close()


def route(conn: socket.socket, requests: queue.Queue, stopping: threading.Event) -> None:
    """One connection of the server: a requester's requests into the queue, or a free responder's turns."""
    frames, lock = Frames(conn), threading.Lock()
    with contextlib.suppress(EOFError, OSError):
        _, kind = frames.read()
        while kind == b"requester":
            requests.put((conn, lock, frames.read()))
        while kind == b"responder" and not stopping.is_set():
            with contextlib.suppress(queue.Empty):
                requester, held, message = requests.get(timeout=POLL)
                conn.sendall(frame(*message))
                reply = frames.read()
                with held, contextlib.suppress(OSError):
                    requester.sendall(frame(*reply))


def serve(config, ready) -> None:
    """Accept connections until stopped (SIGTERM, or stop_threads shutting the listener down)."""
    host, port = config.transport.host_port(config.address)
    listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.settimeout(POLL)
    OPEN.setdefault(config.address, set()).add(listener)
    requests, stopping, routes, conns = queue.Queue(), threading.Event(), [], []
    try:
        ready.set()
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            routes.append(threading.Thread(target=route, args=(conn, requests, stopping), name="plain route"))
            routes[-1].start()
    finally:
        stopping.set()
        for each in (listener, *conns):
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()
        for thread in routes:
            thread.join(START_DEADLINE)
        OPEN[config.address].discard(listener)


def answerer(config, index: int):
    """body -> the encoded reply (an error reply naming the stage that failed), and the service time's draw."""
    codec, handle, bad = CODECS[config.codec], workload.responder_handler(config.workload), workload.BadRequests(index)

    def error_reply(codec: Codec, stage: str, error) -> bytes:
        return codec.encode(workload.error_body(stage, error))

    return (lambda body: workload.answer(handle, codec, body, error_reply, bad)), service_delay(config)


def respond(config, index: int, ready) -> None:
    answer, delay = answerer(config, index)
    with connected(config, b"responder") as sock, contextlib.suppress(EOFError, OSError):
        frames = Frames(sock)
        ready.set()
        while True:
            n, body = frames.read()
            if delay:
                time.sleep(delay())  # the request's service time
            sock.sendall(frame(n, answer(body)))


class SocketChannel:
    """shared/core/pipeline.py's channel over one connection: a message is (number, body)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.frames = sock, Frames(sock)

    async def send(self, message) -> None:
        self.sock.sendall(frame(*message))

    async def flush(self) -> None:
        pass

    async def receive(self, timeout: float) -> list:
        try:
            got = self.frames.read(timeout)
        except (EOFError, OSError):
            raise Stopped() from None
        return [] if got is None else [got]


def request(config, requester_id: int, start, progress):
    tally = Tally(requester_id, config.share(requester_id), workload.workload_for(config), CODECS[config.codec],
                  progress, peer=config.address)
    with connected(config, b"requester") as sock:
        start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        try:
            complete(pipeline(SocketChannel(sock), config, tally, FRAMING))
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        return tally.close(began, time.perf_counter())


async def request_async(config, requester_id: int, start, progress):
    """The asyncio forms: the blocking roles, in asyncio's threads once the loop's barrier released them."""
    await start.wait(START_DEADLINE + config.timeout)
    return await asyncio.to_thread(request, config, requester_id, threading.Barrier(1), progress)


async def respond_async(config, index: int, ready) -> None:
    await asyncio.to_thread(respond, config, index, ready)  # cancelled, it ends when stop_threads shuts its socket


def deliver(config, values: list) -> list:
    """Each value to a mirror responder in turn, and what came back or the stage where it failed."""
    codec, deliveries = CODECS[config.codec], []
    with connected(config, b"requester") as sock:
        channel = SocketChannel(sock)
        for n, value in enumerate(values):
            stage = workload.ENCODE_REQUEST
            try:
                complete(channel.send((n, codec.encode(value))))
                stage, got = workload.NO_REPLY, complete(channel.receive(config.timeout))
                if not got:
                    raise TimeoutError(f"no reply within {config.timeout:g} s")
                stage = workload.DECODE_REPLY
                deliveries.append(workload.delivery_of(codec.decode(got[0][1])))
            except Exception as error:
                deliveries.append(workload.Delivery(stage=stage, error=workload.one_line(error)))
    return deliveries


def stop_threads(config) -> None:
    """Shut down every socket of this process's roles at the run's address: each role sees its end."""
    for sock in list(OPEN.get(config.address, ())):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class PlainTransport(Transport):
    name = "plain"
    codecs = CODECS

    def parse_address(self, text: str) -> str:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise UsageError(f"malformed address {text!r}: expected HOST:PORT")
        return text

    def host_port(self, address: str) -> tuple[str, int]:
        host, port = address.rsplit(":", 1)
        return host.strip("[]"), int(port)

    def address_for(self, host: str, port: int) -> str:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @contextlib.contextmanager
    def loopback(self, config, host: str = LOOPBACK):
        yield config.with_(address=self.address_for(host, free_port(host)))

    serve, respond, respond_async = staticmethod(serve), staticmethod(respond), staticmethod(respond_async)
    request, request_async, deliver = staticmethod(request), staticmethod(request_async), staticmethod(deliver)
    stop_threads = stop_requesters = staticmethod(stop_threads)


TRANSPORT = PlainTransport()
