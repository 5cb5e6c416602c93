"""The private or undocumented parts of multiprocessing.managers the native variant cannot do without, each
named here once with the reason no public API does the job; tests/test_internals.py checks each on the Python
in use. Native only: zmq_impl uses pyzmq's public API alone.
"""

from __future__ import annotations

import logging
import threading
from multiprocessing import managers
from traceback import format_exc

log = logging.getLogger(__name__)


# ---- the connection classes ----
def register_connections(serializer: str, listener: type, client) -> None:
    """Managers take their listener and client classes from `listener_client`: the only way to give ours."""
    managers.listener_client[serializer] = (listener, client)


# ---- proxies: BaseProxy keeps each thread's server connection in `_tls`, its finalizer in `_close` ----
def thread_connection(proxy):
    """The calling thread's connection to the server, shared by its proxies, or None: stopping a run shuts it
    down from another thread, which no public API allows."""
    return getattr(proxy._tls, "connection", None)


def open_thread_connection(proxy):
    """The calling thread's connection to the server, opened now if it has none (BaseProxy._connect, which
    the first call makes otherwise): a one-hop requester puts its deadline on it before that call."""
    if thread_connection(proxy) is None:
        proxy._connect()
    return proxy._tls.connection


def forget_thread_connection(proxy) -> None:
    """After closing it: the thread's next proxy call opens a new one, as the managers do on their own."""
    del proxy._tls.connection


def release(proxy) -> None:
    """The proxy's finalizer (a decref on the server) now, not when the proxy is collected."""
    proxy._close()


# ---- the server: its gate (gate.py) accepts and authenticates in place of `serve_forever` ----
def listener_of(server: managers.Server):
    """The listener the server made from `listener_client` (connection.Listener): the gate accepts from it."""
    return server.listener


def authkey_of(server: managers.Server) -> bytes:
    return bytes(server.authkey)


def stop_flag(server: managers.Server) -> threading.Event:
    """`serve_forever` makes `stop_event`, which `serve_client` reads and the 'shutdown' message sets; the
    gate runs instead of `serve_forever`, so it is made here."""
    server.stop_event = threading.Event()
    return server.stop_event


def handle_request(server: managers.Server, conn) -> None:
    """`Server.handle_request` for a connection the gate authenticated: the client's first request, one of
    the server's `public` functions (a proxy's `accept_connection` serves it until EOF)."""
    request = None
    try:
        try:
            request = conn.recv()
            _, name, args, kwds = request
            assert name in server.public, f"{name!r} unrecognized"
            answer = ("#RETURN", getattr(server, name)(conn, *args, **kwds))
        except Exception:
            answer = ("#TRACEBACK", format_exc())
        try:
            conn.send(answer)
        except Exception:
            log.debug("the managers' server could not answer %r", request)
    except SystemExit:  # how `serve_client` ends, at the client's EOF
        pass
    finally:
        conn.close()
