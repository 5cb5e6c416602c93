"""The response side's broker: a ROUTER bound on the front address, zmq.proxy, a DEALER bound on the back.

The seed's final response-router had the two sockets swapped (DEALER in front, ROUTER behind), which
drops every request; this is the layout of its earlier, working revision.
"""

from __future__ import annotations

import threading

import zmq

from shared.config import RunConfig, UsageError, endpoint_port

ROLE = "broker"
SIGNAL_POLL_SECONDS = 0.2


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
    """Run the broker until interrupted (SIGTERM in its own process, `stop_threads` in threads).

    zmq.proxy runs in a thread of its own, handed the bound sockets. It never returns to Python while it
    works, so a signal that lands between two of its polls would wait forever; the main thread waits in
    slices instead, and on SIGTERM terminates the context, which ends the proxy.
    """
    context = zmq.Context.instance()
    front = context.socket(zmq.ROUTER)
    back = context.socket(zmq.DEALER)
    try:
        for socket in (front, back):
            socket.linger = 0
        # A peer that sends more is disconnected by libzmq before the message is ever assembled.
        front.maxmsgsize = config.max_message_bytes
        bind(front, config.address)
        bind(back, config.back_address)
    except BaseException:
        front.close()
        back.close()
        raise
    failures: list = []
    proxy = threading.Thread(target=forward, args=(front, back, failures), name="zmq proxy")
    proxy.start()
    try:
        ready.set()
        while proxy.is_alive():
            proxy.join(SIGNAL_POLL_SECONDS)
    finally:
        if proxy.is_alive():
            context.term()
        proxy.join()
    if failures:
        raise failures[0]


def stop_threads(config: RunConfig) -> None:
    """Stop every zmq role running as a thread of this process: terminating the shared context wakes each
    blocking call with ETERM, and each role then closes its own socket."""
    zmq.Context.instance().term()
