"""The listening side of ZeroMQ: the broker, a ROUTER bound on the front address, zmq.proxy, and a DEALER
bound on the back address where the responders connect.

The seed's final response-router had the two sockets swapped (DEALER in front, ROUTER behind), which
drops every request; this is the layout of its earlier, working revision.
"""

from __future__ import annotations

import threading

import zmq

from shared.config import RunConfig
from shared.transport import UsageError
from zmq_impl.connection import crosses_tcp, shared_context
from zmq_impl.curve import secure_server, start_authenticator

SIGNAL_POLL_SECONDS = 0.2


def bind(socket: zmq.Socket, address: str) -> None:
    """Bind, turning the usual failures into one sentence for the user."""
    try:
        socket.bind(address)
    except zmq.ZMQError as error:
        if error.errno == zmq.EADDRINUSE:
            raise UsageError(f"port {address.rsplit(':', 1)[-1]} is already in use ({address})") from None
        raise UsageError(f"cannot listen on {address}: {error.strerror}") from None


def server_socket(config: RunConfig, kind: int, address: str, *, secure: bool = True) -> zmq.Socket:
    """A socket of `kind` bound on `address`: no lingering, the run's limit on message size (a peer that
    sends more is disconnected by libzmq before the message is ever assembled), CURVE when it crosses TCP
    (unless `secure` is off: peers on this host only)."""
    socket = shared_context().socket(kind)
    try:
        socket.linger = 0
        socket.maxmsgsize = config.settings.max_message_bytes
        if secure and crosses_tcp(address):  # responders on other hosts are let in by their key, like requesters
            secure_server(socket, config.settings.curve)
        bind(socket, address)
    except BaseException:
        socket.close()
        raise
    return socket


def serve(config: RunConfig, ready) -> None:
    """Run the broker until interrupted (SIGTERM in its own process, `stop_threads` in threads)."""
    handler = start_authenticator(config.settings.curve, shared_context())
    front = back = None
    try:
        front = server_socket(config, zmq.ROUTER, config.address)
        back = server_socket(config, zmq.DEALER, config.settings.back_address)
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
