"""The response side's broker: a ROUTER bound on the front address, zmq.proxy, a DEALER bound on the back.

The seed's final response-router had the two sockets swapped (DEALER in front, ROUTER behind), which
drops every request; this is the layout of its earlier, working revision.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from typing import NamedTuple

import zmq
from zmq.utils.monitor import parse_monitor_message

from shared.config import RunConfig, UsageError, endpoint_port

log = logging.getLogger(__name__)
ROLE = "broker"
SIGNAL_POLL_SECONDS = 0.2
WAITING_NOTICE_SECONDS = 1.0  # a peer not there by then is announced as awaited (a refusal announces it at once)


MAX_SOCKETS = 16384  # libzmq's default, 1023, is short of 1,000 requesters in one process and their monitors


def shared_context() -> zmq.Context:
    """This process's context, which every zmq role in it uses (an asyncio role through a shadow of it), so
    that inproc addresses reach across them. Sized for a thousand requesters as threads or tasks: libzmq
    reads the limit when the context creates its first socket, which no caller has done before this."""
    context = zmq.Context.instance()
    if context.get(zmq.MAX_SOCKETS) < MAX_SOCKETS:
        context.set(zmq.MAX_SOCKETS, MAX_SOCKETS)
    return context


def needed(config: RunConfig) -> bool:
    """Example 1 (hello) has no broker: the REP responder binds the front address itself."""
    return config.example == "router"


def bind(socket: zmq.Socket, address: str) -> None:
    """Bind, turning the usual failures into one sentence for the user."""
    try:
        socket.bind(address)
    except zmq.ZMQError as error:
        if error.errno == zmq.EADDRINUSE:
            raise UsageError(f"port {endpoint_port(address)} is already in use ({address})") from None
        raise UsageError(f"cannot listen on {address}: {error.strerror}") from None


def forward(front: zmq.Socket, back: zmq.Socket, failures: list) -> None:
    """zmq.proxy until the context is terminated; the sockets are this thread's to close."""
    try:
        zmq.proxy(front, back)
    except zmq.ContextTerminated:
        pass
    except zmq.ZMQError as error:
        failures.append(error)
    finally:
        front.close()
        back.close()


def serve(config: RunConfig, ready) -> None:
    """Run the broker until interrupted (SIGTERM in its own process, `stop_threads` in threads)."""
    context = shared_context()
    front = context.socket(zmq.ROUTER)
    back = context.socket(zmq.DEALER)
    handler = None
    try:
        for socket in (front, back):
            socket.linger = 0
        # A peer that sends more is disconnected by libzmq before the message is ever assembled.
        front.maxmsgsize = config.max_message_bytes
        secure_server(front, config)
        if crosses_tcp(config.back_address):  # responders on other hosts are let in by their key, like requesters
            secure_server(back, config)
        handler = start_authenticator(config)
        bind(front, config.address)
        bind(back, config.back_address)
    except BaseException:
        if handler is not None:
            handler.stop()
        front.close()
        back.close()
        raise
    run_proxy(front, back, ready, handler)


def run_proxy(front: zmq.Socket, back: zmq.Socket, ready, handler=None) -> None:
    """zmq.proxy between two ready sockets until interrupted; the broker's and the request router's loop.

    zmq.proxy runs in a thread of its own, handed the sockets. It never returns to Python while it works, so
    a signal that lands between two of its polls would wait forever; the calling thread waits in slices
    instead, and on SIGTERM terminates the context, which ends the proxy.
    """
    failures: list = []
    proxy = threading.Thread(target=forward, args=(front, back, failures), name="zmq proxy")
    try:
        proxy.start()
        ready.set()
        while proxy.is_alive():
            proxy.join(SIGNAL_POLL_SECONDS)
    finally:
        if handler is not None:
            handler.stop()  # first: terminating the context waits for every socket, the handler's too
        if proxy.is_alive():
            shared_context().term()
        proxy.join()
    if failures:
        raise failures[0]


def stop_threads(config: RunConfig) -> None:
    """Stop every zmq role running as a thread of this process: terminating the shared context wakes each
    blocking call with ETERM, and each role then closes its own socket. Asyncio roles have closed theirs by
    then: their tasks were cancelled first."""
    shared_context().term()


def stop_requesters(config: RunConfig) -> None:
    """Stop requesters running as threads of this process, against a broker elsewhere: the same as
    `stop_threads`, since the context is this process's alone."""
    stop_threads(config)


# ---- CURVE: encryption, and clients authenticated by their public keys --------------------------------
SERVER_KEY, CLIENT_KEY, AUTHORIZED = "server", "client", "authorized"


def create_keys(folder: str) -> list[str]:
    """`reqrep zmq keys`: a server key pair, a client key pair, and the client's public key authorized."""
    import zmq.auth

    os.makedirs(os.path.join(folder, AUTHORIZED), exist_ok=True)
    made = [*zmq.auth.create_certificates(folder, SERVER_KEY), *zmq.auth.create_certificates(folder, CLIENT_KEY)]
    authorized = os.path.join(folder, AUTHORIZED, f"{CLIENT_KEY}.key")
    shutil.copy(os.path.join(folder, f"{CLIENT_KEY}.key"), authorized)
    return [*made, authorized]


def _key_pair(config: RunConfig, name: str) -> tuple[bytes, bytes]:
    import zmq.auth

    path = os.path.join(config.curve_dir, f"{name}.key_secret")
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot load the CURVE key {path}: {error} "
                         f"(create keys with `reqrep zmq keys DIR`)") from None


def start_authenticator(config: RunConfig):
    """With CURVE, a ZAP handler (a thread) that admits only the client keys in DIR/authorized; the caller
    stops it. None without CURVE."""
    if not config.curve_dir:
        return None
    from zmq.auth.thread import ThreadAuthenticator

    allowed = os.path.join(config.curve_dir, AUTHORIZED)
    if not os.path.isdir(allowed):
        raise UsageError(f"no folder of authorized client keys at {allowed}")
    handler = ThreadAuthenticator(shared_context())
    handler.start()
    handler.configure_curve(domain="*", location=allowed)
    return handler


def secure_server(socket: zmq.Socket, config: RunConfig) -> None:
    if config.curve_dir:
        socket.curve_publickey, socket.curve_secretkey = _key_pair(config, SERVER_KEY)
        socket.curve_server = True


def secure_client(socket: zmq.Socket, config: RunConfig) -> None:
    if config.curve_dir:
        import zmq.auth

        socket.curve_publickey, socket.curve_secretkey = _key_pair(config, CLIENT_KEY)
        socket.curve_serverkey, _ = zmq.auth.load_certificate(os.path.join(config.curve_dir, f"{SERVER_KEY}.key"))


def crosses_tcp(address: str) -> bool:
    """Whether a zmq address may reach another process or host (tcp), rather than this process (inproc)."""
    return address.startswith("tcp://")


# ---- peers: waiting for the one a socket connects to, and noticing when it goes -------------------------------
PEER_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
               | zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_DISCONNECTED
               | zmq.EVENT_MONITOR_STOPPED)  # without it in the mask, libzmq never sends it and a watch never ends


class Peer(NamedTuple):
    """Who waits for whom, where, and how loudly it says so (see shared.roles.notice_level)."""

    who: str  # "zmq responder 0"
    name: str  # "zmq broker"
    address: str
    level: int = logging.WARNING

    def say(self, what: str, then: str = "") -> None:
        log.log(self.level, "%s: %s the %s at %s%s", self.who, what, self.name, self.address, then)


def connect(socket: zmq.Socket, config: RunConfig, peer: Peer, *, watch: bool = False):
    """Connect `socket` to `peer` and wait, until `config.timeout`, for the ZMTP handshake with it: libzmq
    would connect whenever the peer comes, but a role that waits says so, and one that waits in vain says why.

    A refused CURVE key or a security mismatch ends the wait at once. With `watch`, returns a `PeerWatch`
    that logs the peer's departures and returns (libzmq reconnects by itself); the caller stops it.
    """
    monitor = monitor_socket(socket, shared_context())
    try:
        socket.connect(peer.address)
        handshake = Handshake(peer, config.timeout)
        while not (monitor.poll(handshake.wait_ms()) and handshake.done(monitor.recv_multipart())):
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


class Handshake:
    """The wait for a peer's handshake, without the waiting: `wait_ms` says how long to poll the monitor
    next (and announces a long wait, or gives up at the deadline), `done` reads one monitor message. The
    blocking `connect` above and the asyncio one of tasks.py drive it alike."""

    def __init__(self, peer: Peer, timeout: float) -> None:
        self.peer, self.timeout = peer, timeout
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
        peer, event = self.peer, parse_monitor_message(message)["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            return True
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            raise UsageError(f"the {peer.name} at {peer.address} refused this client's CURVE key (its public key "
                             f"must be in the server's authorized folder)")
        if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            raise UsageError(f"the handshake with the {peer.name} at {peer.address} failed: both sides need the "
                             f"same security (--curve on both, or on neither)")
        if event == zmq.EVENT_MONITOR_STOPPED:  # the socket was closed: its asyncio task was cancelled
            raise UsageError(f"stopped while waiting for the {peer.name} at {peer.address}")
        self.reached = self.reached or event == zmq.EVENT_CONNECTED  # something listens: a retry is no absence
        if event == zmq.EVENT_CONNECT_RETRIED and not (self.told or self.reached):
            self.tell_waiting()
        return False

    def tell_waiting(self) -> None:
        self.peer.say("waiting for", f" (up to {self.timeout:g} s)")
        self.told = True


def stop_monitor(socket: zmq.Socket, monitor: zmq.Socket) -> None:
    try:
        socket.disable_monitor()
    except zmq.ZMQError:
        pass  # the context is being terminated: the monitor is going anyway
    monitor.close()


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
