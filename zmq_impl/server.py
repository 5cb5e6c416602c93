"""The listening side of ZeroMQ: the broker. With `--broker proxy` (the seed's), a ROUTER bound on the front
address, zmq.proxy, and a DEALER bound on the back address where the responders connect; with `--broker
balancing`, a ROUTER on each side and a loop that hands each request to a responder that said it is free
(the protocol is in balancing.py, its bookkeeping in roster.py)."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import zmq

from shared.core.config import LISTEN_BACKLOG, RunConfig
from shared.core.errors import UsageError
from shared.core.local import claim
from zmq_impl.addresses import crosses_processes, local_path
from zmq_impl.balancing import HEARTBEAT, READY, Frames, envelope_of
from zmq_impl.blocking import receive_frames, send_frames
from zmq_impl.connection import hold_replies, ipv6_for, shared_context
from zmq_impl.curve import BACK, FRONT, secure_server, start_authenticator
from zmq_impl.roster import Roster

SIGNAL_POLL_SECONDS = 0.2
_bound: dict[str, int] = {}  # the socket files this process bound, by path: their inode


def bind(socket: zmq.Socket, address: str) -> None:
    """Bind, IPv6 included, turning the usual failures into one sentence for the user. A socket file in the
    way is claimed first (shared.core.local.claim): libzmq would remove whatever is there, live or not."""
    path = local_path(address)
    if path is not None:
        claim(path, address)
    ipv6_for(socket, address)
    try:
        socket.bind(address)
    except zmq.ZMQError as error:
        if error.errno == zmq.EADDRINUSE:
            raise UsageError(f"port {address.rsplit(':', 1)[-1]} is already in use ({address})") from None
        raise UsageError(f"cannot listen on {address}: {error.strerror}") from None
    if path is not None:
        _bound[path] = os.lstat(path).st_ino


def remove_files(*addresses: str) -> None:
    """Remove the socket files that this process bound at `addresses` (libzmq leaves them), unless another
    listener has taken the path since."""
    for path in filter(None, map(local_path, addresses)):
        inode = _bound.pop(path, None)
        with contextlib.suppress(OSError):
            if inode is not None and os.lstat(path).st_ino == inode:
                os.unlink(path)


def server_socket(config: RunConfig, kind: int, address: str, *, secure: bool = True,
                  side: str = FRONT) -> zmq.Socket:
    """A socket of `kind` bound on `address`: no lingering, the run's limit on message size (a peer that
    sends more is disconnected by libzmq before the message is ever assembled), a connection that has not
    completed ZMTP's handshake within the timeout closed, and CURVE when it reaches other processes (unless
    `secure` is off: the request router's requesters, on this host), admitting the keys of the broker's
    `side`."""
    socket = shared_context().socket(kind)
    try:
        socket.linger = 0
        socket.maxmsgsize = config.settings.max_message_bytes
        socket.handshake_ivl = handshake_ms(config)
        socket.backlog = LISTEN_BACKLOG
        hold_replies(socket)
        if secure and crosses_processes(address):  # remote responders admitted by key too
            secure_server(socket, config.settings.curve, side)
        bind(socket, address)
    except BaseException:
        socket.close()
        raise
    return socket


def handshake_ms(config: RunConfig) -> int:
    """ZMQ_HANDSHAKE_IVL: the run's handshake deadline, within which a peer that connected must complete the
    handshake (libzmq's default is 30 s): connections that never speak are closed, not held."""
    return max(1, round(config.handshake_seconds * 1000))


def sides(config: RunConfig) -> tuple[str, ...]:
    """The broker's sides that CURVE guards: the front, and the back where responders reach it from other
    processes (tcp, ipc)."""
    return (FRONT, BACK) if crosses_processes(config.settings.back_address) else (FRONT,)


def serve(config: RunConfig, ready) -> None:
    """Run the broker until interrupted (SIGTERM in its own process, `stop_threads` in threads)."""
    try:
        (balance if config.settings.broker == "balancing" else proxy)(config, ready)
    finally:
        remove_files(config.address, config.settings.back_address)


def proxy(config: RunConfig, ready) -> None:
    """The seed's broker: ROUTER, zmq.proxy, DEALER."""
    handler = start_authenticator(config.settings.curve, shared_context(), sides(config))
    front = back = None
    try:
        front = server_socket(config, zmq.ROUTER, config.address)
        back = server_socket(config, zmq.DEALER, config.settings.back_address, side=BACK)
    except BaseException:
        for socket in (front, back):
            if socket is not None:
                socket.close()
        if handler is not None:
            handler.stop()
        raise
    run_proxy(front, back, ready, handler)


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


def run_proxy(front: zmq.Socket, back: zmq.Socket, ready, handler=None) -> None:
    """zmq.proxy between two ready sockets until interrupted; the broker's and the request router's loop.
    zmq.proxy never returns to Python while it works, so it runs in a thread of its own; the calling thread
    waits in slices, so a signal gets in, and terminates the context on SIGTERM, which ends the proxy."""
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


def balance(config: RunConfig, ready) -> None:
    """The load-balancing broker until interrupted: requests from the front go to a free responder, each
    holding one at a time until it answers it; a responder silent past its liveness, or holding a request past
    the timeout, gets none (see roster.py). It polls in slices of a heartbeat at most, so a signal gets in."""
    handler = start_authenticator(config.settings.curve, shared_context(), sides(config))
    front = back = None
    try:
        front = server_socket(config, zmq.ROUTER, config.address)
        back = server_socket(config, zmq.ROUTER, config.settings.back_address, side=BACK)
        back.router_mandatory = 1  # a gone responder's request fails here: retried
        back.router_handover = 1  # a responder that reconnects under its name takes its place at once
        ready.set()
        dispatch(front, back, Roster(config))
    except zmq.ContextTerminated:
        pass  # roles running as threads are being stopped
    finally:
        for socket in (front, back):
            if socket is not None:
                socket.close()
        if handler is not None:
            handler.stop()


def dispatch(front: zmq.Socket, back: zmq.Socket, roster: Roster) -> None:
    """The broker's loop: the front is read only while a responder can take a request, so requests wait in
    its queue (and, past its high-water mark, in TCP) rather than in a responder's."""
    both, responders = zmq.Poller(), zmq.Poller()
    for poller in (both, responders):
        poller.register(back, zmq.POLLIN)
    both.register(front, zmq.POLLIN)
    poll_both, poll_responders, clock = both.poll, responders.poll, time.monotonic
    now = clock()
    while True:
        polled = (poll_both if roster.proven or roster.can_take() else poll_responders)(roster.wait_ms(now))
        now = clock()
        for socket, _ in polled:
            if socket is back:
                from_responder(receive_frames(back), front, roster, now)
            else:
                to_responder(receive_frames(front), back, roster, now)
        if now >= roster.next_tick:
            for identity in roster.tick(now):
                if hand_to(back, roster, identity, [HEARTBEAT]):
                    roster.sent(identity, now)


# Plain ints: combining pyzmq's flag enums costs more than the call they are passed to.
NOBLOCK = int(zmq.NOBLOCK)


def from_responder(frames: Frames, front: zmq.Socket, roster: Roster, now: float) -> None:
    """A responder's READY, heartbeat or reply. A reply goes to its requester only if it answers the request
    its responder holds; anything else is dropped."""
    identity, rest = frames[0], frames[1:]
    if len(rest) > 1:
        if not roster.answered(identity, rest, now):
            roster.strays.drop("a reply to a client it was not handed", identity)
            return
        try:
            send_frames(front, rest, NOBLOCK)  # a requester gone: the ROUTER drops it
        except zmq.Again:
            pass
    elif rest[0] in (READY, HEARTBEAT):
        roster.signal(identity, rest[0] == READY, now)
    else:
        roster.strays.drop(f"a frame of {len(rest[0])} bytes that is no signal", identity)


def to_responder(frames: Frames, back: zmq.Socket, roster: Roster, now: float) -> None:
    """Hand a request to the responder `roster.next_free` gives; if it is gone, to the next. With none left
    the request is dropped, and its requester sends it again. One with no envelope is dropped: no reply
    could reach its sender."""
    envelope = envelope_of(frames)
    if envelope is None:
        roster.strays.drop("a request with no envelope (no empty delimiter frame)", frames[0])
        return
    while (identity := roster.next_free()) is not None:
        if hand_to(back, roster, identity, frames):
            roster.hold(identity, envelope, now)
            return


def hand_to(back: zmq.Socket, roster: Roster, identity: bytes, frames: Frames) -> bool:
    """Send to one responder, never blocking; one that is gone, or takes nothing more, is struck off the
    roster."""
    try:
        send_frames(back, [identity, *frames], NOBLOCK)
    except zmq.ZMQError as error:
        roster.forget(identity, "disconnected" if error.errno == zmq.EHOSTUNREACH else "its queue is full")
        return False
    return True


def stop_threads(config: RunConfig) -> None:
    """Stop every zmq role running as a thread of this process: terminating the shared context wakes each
    blocking call with ETERM, and each role then closes its own socket. Asyncio roles have closed theirs by
    then: their tasks were cancelled first."""
    shared_context().term()
