"""A third transport, written against shared/core/transport.py's required members only: length-prefixed
frames over plain TCP sockets. A server routes each request to a free responder (a thread per connection),
and each reply back to its requester; the core's loops number and verify them. It changes no file of shared/.

A frame is a header (the body's length, the request's number; ">Iq") and the body: the codec's bytes, or the
first frame of a connection, which says who connects (HELLO)."""

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

from shared.core.config import LOOPBACK, START_DEADLINE, free_port
from shared.core.errors import UsageError
from shared.core.pipeline import Stopped, pipeline, pipeline_async
from shared.core.results import Tally
from shared.core.service_time import service_delay
from shared.core.transport import Transport
from shared.core.wire import Codec, Framing
from shared.core.workload import (
    DECODE_REPLY,
    ENCODE_REQUEST,
    NO_REPLY,
    BadRequests,
    Delivery,
    answer,
    delivery_of,
    error_body,
    one_line,
    responder_handler,
    workload_for,
)

HEADER = struct.Struct(">Iq")
POLL = 0.1  # seconds between looks at whether the server is stopping
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
        while True:
            if len(self.buffer) >= HEADER.size:
                size, n = HEADER.unpack_from(self.buffer)
                if len(self.buffer) >= HEADER.size + size:
                    body = self.buffer[HEADER.size:HEADER.size + size]
                    self.buffer = self.buffer[HEADER.size + size:]
                    return n, body
            self.sock.settimeout(None if deadline is None else max(0.0, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                return None
            if not chunk:
                raise EOFError("the connection closed")
            self.buffer += chunk


@contextlib.contextmanager
def connected(config, hello: bytes):
    """A connection to the server that said who it is, tracked so that stop_threads can shut it down."""
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
            n, body = frames.read()
            requests.put((conn, lock, n, body))
        while kind == b"responder" and not stopping.is_set():
            with contextlib.suppress(queue.Empty):
                requester, held, n, body = requests.get(timeout=POLL)
                conn.sendall(frame(n, body))
                reply = frames.read()
                with held, contextlib.suppress(OSError):
                    requester.sendall(frame(*reply))


def serve(config, ready) -> None:
    listener = socket.create_server(config.transport.host_port(config.address),
                                    family=socket.AF_INET6 if ":" in config.address.rsplit(":", 1)[0] else
                                    socket.AF_INET)
    listener.settimeout(POLL)
    OPEN.setdefault(config.address, set()).add(listener)
    requests, stopping, routes, conns = queue.Queue(), threading.Event(), [], []
    try:
        ready.set()
        while listener.fileno() != -1:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # shut down by stop_threads
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


def respond(config, index: int, ready) -> None:
    codec, handle, bad = CODECS[config.codec], responder_handler(config.workload), BadRequests(index)
    delay = service_delay(config)
    with connected(config, b"responder") as sock:
        frames = Frames(sock)
        ready.set()
        with contextlib.suppress(EOFError, OSError):
            while True:
                n, body = frames.read()
                if delay:
                    time.sleep(delay())  # the request's service time
                sock.sendall(frame(n, answer(handle, codec, body, error_reply, bad)))


def error_reply(codec: Codec, stage: str, error: BaseException | str) -> bytes:
    return codec.encode(error_body(stage, error))


class SocketChannel:
    """shared/core/pipeline.py's channel over one connection: a message is (number, body)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.frames = sock, Frames(sock)

    def send(self, message) -> None:
        self.sock.sendall(frame(*message))

    def flush(self) -> None:
        pass

    def receive(self, timeout: float) -> list:
        try:
            got = self.frames.read(timeout)
        except (EOFError, OSError):
            raise Stopped() from None
        return [] if got is None else [got]


def request(config, requester_id: int, start, progress):
    tally = Tally(requester_id, config.share(requester_id), workload_for(config), CODECS[config.codec], progress,
                  peer=config.address)
    with connected(config, b"requester") as sock:
        start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        try:
            pipeline(SocketChannel(sock), config, tally, FRAMING)
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        return tally.close(began, time.perf_counter())


class StreamChannel:
    """The same over asyncio streams: a reader task queues the frames, so that a timeout cuts none."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer, self.frames = writer, asyncio.Queue()
        self.reading = asyncio.ensure_future(self.read(reader))

    async def read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, OSError):
            while True:
                size, n = HEADER.unpack(await reader.readexactly(HEADER.size))
                self.frames.put_nowait((n, await reader.readexactly(size)))
        self.frames.put_nowait(None)

    async def send(self, message) -> None:
        self.writer.write(frame(*message))

    async def flush(self) -> None:
        await self.writer.drain()

    async def receive(self, timeout: float) -> list:
        try:
            got = await asyncio.wait_for(self.frames.get(), timeout)
        except TimeoutError:
            return []
        if got is None:
            raise Stopped()
        return [got]


@contextlib.asynccontextmanager
async def streams(config, hello: bytes):
    host, port = config.transport.host_port(config.address)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(frame(0, hello))
    channel = StreamChannel(reader, writer)
    try:
        yield channel
    finally:
        channel.reading.cancel()
        writer.close()


async def request_async(config, requester_id: int, start, progress):
    tally = Tally(requester_id, config.share(requester_id), workload_for(config), CODECS[config.codec], progress,
                  peer=config.address)
    async with streams(config, b"requester") as channel:
        await start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        try:
            await pipeline_async(channel, config, tally, FRAMING)
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        return tally.close(began, time.perf_counter())


async def respond_async(config, index: int, ready) -> None:
    codec, handle, bad = CODECS[config.codec], responder_handler(config.workload), BadRequests(index)
    delay = service_delay(config)
    async with streams(config, b"responder") as channel:
        ready.set()
        while (got := await channel.frames.get()) is not None:
            if delay:
                await asyncio.sleep(delay())
            await channel.send((got[0], answer(handle, codec, got[1], error_reply, bad)))
            await channel.flush()


def deliver(config, values: list) -> list[Delivery]:
    codec, deliveries = CODECS[config.codec], []
    with connected(config, b"requester") as sock:
        channel = SocketChannel(sock)
        for n, value in enumerate(values):
            try:
                channel.send((n, codec.encode(value)))
            except Exception as error:
                deliveries.append(Delivery(stage=ENCODE_REQUEST, error=one_line(error)))
                continue
            got = channel.receive(config.timeout)
            if not got:
                deliveries.append(Delivery(stage=NO_REPLY, error=f"no reply within {config.timeout:g} s"))
                continue
            try:
                deliveries.append(delivery_of(codec.decode(got[0][1])))
            except Exception as error:
                deliveries.append(Delivery(stage=DECODE_REPLY, error=one_line(error)))
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
