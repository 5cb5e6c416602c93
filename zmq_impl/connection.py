"""The client side of ZeroMQ: this process's context, a role's socket, the wait for its peer's handshake with a
deadline, and the watch that names a peer when it goes and comes back (libzmq reconnects by itself)."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from shared.core.config import RunConfig
from shared.core.errors import UsageError
from shared.core.local import refuse_link
from shared.core.peers import Peer
from zmq_impl.addresses import crosses_processes, local_path
from zmq_impl.curve import CLIENT_KEY, secure_client
from zmq_impl.greeting import PARTNERS, peer_socket_type, refusal

MAX_SOCKETS = 16384  # libzmq's default, 1023, is short of 1,000 requesters in one process and their monitors
# Roles send with copy=False: a frame this large or larger is handed to libzmq without a copy, a smaller one is
# copied (pyzmq's copy_threshold, set by --zero-copy-above). A zero-copy send costs a fixed few microseconds
# (pyzmq's garbage-collector thread releases the bytes once sent), so it pays only when the copy it saves takes
# longer: from 512 KiB on, as first measured (256 KiB: 8% slower than copying; 512 KiB to 8 MiB: 15-22% faster;
# pyzmq's own default, 64 KiB, was 8-22% slower from 64 to 256 KiB). `reqrep bench --preset ndarray` measures it
# again: its paths send arrays with zero-copy from 0 bytes, from this default, and never.
ZERO_COPY_BYTES = 512 * 1024
SMALL_FRAME_SLACK = 1024  # what a frame adds to --payload-bytes at most: the request's number, encoding, suffix
NEVER_ZERO_COPY = 2**31 - 1  # copy_threshold is a C int: no frame that a broker accepts reaches it
WAITING_NOTICE_SECONDS = 1.0  # a peer not there by then is announced as awaited (a refusal announces it at once)
PEER_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
               | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED
               | zmq.EVENT_DISCONNECTED
               | zmq.EVENT_MONITOR_STOPPED)  # without it in the mask, libzmq never sends it and a watch never ends
# Handshakes that fail, besides a plain hang-up (DISCONNECTED): a peer of a socket type that refuses ours
# gives any of the three, depending on which side reads the other's READY first and how the hang-up meets
# our write (NO_DETAIL: EPIPE).
FAILED = (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


def shared_context() -> zmq.Context:
    """This process's context, which every zmq role in it uses (an asyncio role through a shadow of it), so
    that inproc addresses reach across them. Sized for a thousand requesters as threads or tasks: libzmq
    reads the limit when the context creates its first socket, which no caller has done before this."""
    context = zmq.Context.instance()
    if context.get(zmq.MAX_SOCKETS) < MAX_SOCKETS:
        context.set(zmq.MAX_SOCKETS, MAX_SOCKETS)
    return context


def asyncio_context() -> zmq.asyncio.Context:
    """A shadow of this process's context: awaitable sockets, and inproc reaches the broker's thread."""
    return zmq.asyncio.Context(shared_context())


def small_frames(config: RunConfig) -> bool:
    """Whether every frame of the run stays below --zero-copy-above. Asking pyzmq for copy=False costs about
    170 ns a frame even below the threshold (it copies all the same then): only a run whose frames may reach
    it (your values, --payload; long padded texts) pays that, and the seed's small frames go the plain way."""
    above = config.settings.zero_copy_above
    return above is None or (config.payload is None and config.payload_bytes + SMALL_FRAME_SLACK < above)


def sender(socket: zmq.Socket, config: RunConfig) -> Callable:
    """The socket's send for this run's frames (see small_frames)."""
    return socket.send if small_frames(config) else functools.partial(socket.send, copy=False)


def ipv6_for(socket: zmq.Socket, address: str) -> None:
    """ZMQ_IPV6 where `address` is an IPv6 one (tcp://[::1]:5555): libzmq speaks IPv4 only unless told, and
    then refuses to bind (ENODEV) and never reaches the peer. Told only there: with it on, a name such as
    localhost may resolve to ::1, where a peer listening on 127.0.0.1 is not."""
    if address.startswith("tcp://["):
        socket.ipv6 = True


def reach(socket: zmq.Socket, address: str) -> None:
    """socket.connect, IPv6 included, never through a symbolic link: every connect of the client side goes
    through here."""
    path = local_path(address)
    if path is not None:
        refuse_link(path, address)
    ipv6_for(socket, address)
    socket.connect(address)


def hold_replies(socket: zmq.Socket) -> None:
    """An unbounded send queue (SNDHWM 0) on a socket that routes replies, a ROUTER or a REP: at its high-water
    mark (libzmq's default, 1,000 messages a peer) such a socket drops what it sends, silently, and a requester
    whose replies come faster than it reads them (a window of 1,000 or more) loses some and waits a timeout
    for each. The requesters' windows bound what is in flight; a DEALER or REQ blocks at its mark instead."""
    if socket.type in (zmq.ROUTER, zmq.REP):
        socket.sndhwm = 0


def client_socket(config: RunConfig, kind: int, *, asynchronous: bool = False,
                  key: str | None = CLIENT_KEY) -> zmq.Socket:
    """A socket of `kind` for a role of the client side, not yet connected: no lingering, the run's limit on
    message size, zero-copy sends of large frames (--zero-copy-above), a deadline on both directions (a REQ
    socket with no usable peer, a refused CURVE handshake say, blocks in send, not in recv), and with the
    run's CURVE the key pair `key`, a requester's (client) or a responder's; None: no CURVE (a peer on this
    host, like the request router)."""
    socket = (asyncio_context() if asynchronous else shared_context()).socket(kind)
    try:
        socket.linger = 0
        socket.maxmsgsize = config.settings.max_message_bytes
        above = config.settings.zero_copy_above
        socket.copy_threshold = NEVER_ZERO_COPY if above is None else above
        hold_replies(socket)
        if kind != zmq.REP:
            socket.sndtimeo = int(config.timeout * 1000)
        if kind == zmq.REQ:
            socket.rcvtimeo = int(config.timeout * 1000)
        if key is not None:
            secure_client(socket, config.settings.curve, key)
    except BaseException:
        socket.close()
        raise
    return socket


async def connect(config: RunConfig, peer: Peer, socket: zmq.Socket, form: Any, *,  # zmq_impl.blocking.Form
                  watch: bool = False) -> PeerWatch | None:
    """Connect `socket` to `peer` and wait, until `config.timeout`, for the ZMTP handshake with it: libzmq
    would connect whenever the peer comes, but a role that waits says so, and one that waits in vain says why.
    `form` is the role's (BLOCKING, run under `complete`, or an asyncio task's): a thousand requester tasks
    wait on the loop, and a task cancelled meanwhile stops its monitor on the way out.

    A refused CURVE key or a security mismatch ends the wait at once. With `watch` (a blocking form's),
    returns a `PeerWatch` that logs the peer's departures and returns; the caller stops it.
    """
    if not crosses_processes(peer.address):  # inproc: the peer, a thread of this process, is bound already
        reach(socket, peer.address)
        return None
    monitor = monitor_socket(socket, form.context())
    try:
        reach(socket, peer.address)
        handshake = Handshake(peer, config.handshake_seconds, bool(config.settings.curve),
                              zmq.SocketType(socket.type).name)
        poll, receive = form.poller(monitor), form.frames_receiver(monitor)
        while not (await poll(handshake.wait_ms()) and handshake.done(await receive())):
            pass
    except BaseException:
        stop_monitor(socket, monitor)
        raise
    if not watch:
        stop_monitor(socket, monitor)
        return None
    return PeerWatch(socket, monitor, peer)


def monitor_socket(socket: zmq.Socket, context: zmq.Context) -> zmq.Socket:
    """A PAIR socket of `context` that receives `socket`'s peer events: a blocking one from the shared
    context, or an awaitable one from its asyncio shadow (whatever kind `socket` itself is)."""
    address = f"inproc://reqrep-monitor-{uuid.uuid4().hex}"
    socket.monitor(address, PEER_EVENTS)
    monitor = context.socket(zmq.PAIR)
    monitor.linger = 0
    monitor.connect(address)
    return monitor


def stop_monitor(socket: zmq.Socket, monitor: zmq.Socket) -> None:
    try:
        socket.disable_monitor()
    except zmq.ZMQError:
        pass  # the context is being terminated: the monitor is going anyway
    monitor.close()


class Handshake:
    """The wait for a peer's handshake, without the waiting: `wait_ms` says how long to poll the monitor
    next (and announces a long wait, or gives up at the deadline), `done` reads one monitor message. The
    blocking and the asyncio `connect` drive it alike."""

    def __init__(self, peer: Peer, timeout: float, curve: bool, own_type: str = "REQ") -> None:
        self.peer, self.timeout, self.curve, self.own_type = peer, timeout, curve, own_type
        self.began = time.monotonic()
        self.deadline = self.began + timeout
        self.told = self.reached = False

    def wait_ms(self) -> int:
        now = time.monotonic()
        if now >= self.deadline:
            raise UsageError(f"no {self.peer.name} answered at {self.peer.address} within {self.timeout:g} s")
        if not self.told and now - self.began >= WAITING_NOTICE_SECONDS:
            self.tell_waiting()
        slice_end = self.deadline if self.told else min(self.deadline, self.began + WAITING_NOTICE_SECONDS)
        return max(1, int((slice_end - now) * 1000))

    def done(self, message: list) -> bool:
        peer, parsed = self.peer, parse_monitor_message(message)
        event = parsed["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            return True
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            raise UsageError(f"the {peer.name} at {peer.address} refused this client's CURVE key (its public "
                             f"key must be in the server's folder for it: authorized/ for a requester's, "
                             f"responders/ for a responder's)")
        if event == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL and self.curve:  # the peer hung up mid-handshake
            raise UsageError(f"the {peer.name} at {peer.address} broke off the CURVE handshake: it refused this "
                             f"client, whose server.key is not that server's public key, or it is a socket of "
                             f"a type that refuses this {self.own_type} (CURVE hides which)")
        if event in FAILED or (event == zmq.EVENT_DISCONNECTED and self.reached):
            raise UsageError(self.refused(event, parsed["value"]))  # the event depends on who reads first
        if event == zmq.EVENT_MONITOR_STOPPED:  # the socket was closed: its asyncio task was cancelled
            raise UsageError(f"stopped while waiting for the {peer.name} at {peer.address}")
        self.reached = self.reached or event == zmq.EVENT_CONNECTED  # something listens: a retry is no absence
        if event == zmq.EVENT_CONNECT_RETRIED and not (self.told or self.reached):
            self.tell_waiting()
        return False

    def refused(self, event: int, value: int) -> str:
        """Why the listener refused the handshake, or took the connection and hung up. A ZeroMQ socket of a
        type that refuses ours (libzmq hangs up on it, or ours on the peer's READY) says which, when a short
        look at it can tell (this failure path only); anything else that hangs up is not ZeroMQ at all."""
        peer, own = self.peer, self.own_type
        peer_type = peer_socket_type(peer.address, own)
        if peer_type is not None and peer_type not in PARTNERS.get(own, (peer_type,)):
            return refusal(peer.address, own, peer_type, peer.name)
        if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and value == zmq.PROTOCOL_ERROR_ZMTP_INVALID_METADATA:
            return refusal(peer.address, own, None, peer.name)  # the look learnt nothing in time
        if event in FAILED:
            return self.mismatched_security()
        return (f"whatever listens at {peer.address} hung up before the ZMTP handshake: it is not a {peer.name} "
                f"(a reqrep native server, say)")

    def mismatched_security(self) -> str:
        return (f"the handshake with the {self.peer.name} at {self.peer.address} failed: both sides need the "
                f"same security (--curve on both, or on neither)")

    def tell_waiting(self) -> None:
        self.peer.say("waiting for", f" (up to {self.timeout:g} s)")
        self.told = True


class PeerWatch:
    """A thread that reads a connected socket's monitor and logs when its peer goes and comes back. It only
    reports: libzmq reconnects, and requests queue in the meantime."""

    def __init__(self, socket: zmq.Socket, monitor: zmq.Socket, peer: Peer) -> None:
        self._socket = socket
        self._thread = threading.Thread(target=self._watch, args=(monitor, peer), name="zmq peer watch")
        self._thread.start()

    @staticmethod
    def _watch(monitor: zmq.Socket, peer: Peer) -> None:
        try:
            while True:
                event = parse_monitor_message(monitor.recv_multipart())["event"]
                if event == zmq.EVENT_DISCONNECTED:
                    peer.say("lost", "; reconnecting when it is back")
                elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    peer.say("connected again to")
                elif event == zmq.EVENT_MONITOR_STOPPED:
                    return
        except zmq.ContextTerminated:
            pass  # roles running as threads are being stopped
        finally:
            monitor.close()  # this thread's socket: closed here, by its only user

    def stop(self) -> None:
        """Stop the monitor, which wakes the thread with MONITOR_STOPPED, and wait for it."""
        try:
            self._socket.disable_monitor()
        except zmq.ZMQError:
            pass  # the context is being terminated, which wakes the thread too
        self._thread.join(timeout=5)


def stop_requesters(config: RunConfig) -> None:
    """Stop requesters running as threads of this process, against a broker elsewhere: terminating this
    process's context wakes each blocking call with ETERM, and each requester then closes its own socket."""
    shared_context().term()
