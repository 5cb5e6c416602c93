"""The response side's broker: a ROUTER bound on the front address, zmq.proxy, a DEALER bound on the back.

The seed's final response-router had the two sockets swapped (DEALER in front, ROUTER behind), which
drops every request; this is the layout of its earlier, working revision.
"""

from __future__ import annotations

import os
import shutil
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
        secure_server(front, config)
        bind(front, config.address)
        bind(back, config.back_address)
    except BaseException:
        front.close()
        back.close()
        raise
    failures: list = []
    proxy = threading.Thread(target=forward, args=(front, back, failures), name="zmq proxy")
    handler = start_authenticator(config)
    try:
        proxy.start()
        ready.set()
        while proxy.is_alive():
            proxy.join(SIGNAL_POLL_SECONDS)
    finally:
        if handler is not None:
            handler.stop()  # first: terminating the context waits for every socket, the handler's too
        if proxy.is_alive():
            context.term()
        proxy.join()
    if failures:
        raise failures[0]


def stop_threads(config: RunConfig) -> None:
    """Stop every zmq role running as a thread of this process: terminating the shared context wakes each
    blocking call with ETERM, and each role then closes its own socket."""
    zmq.Context.instance().term()


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
    handler = ThreadAuthenticator(zmq.Context.instance())
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
