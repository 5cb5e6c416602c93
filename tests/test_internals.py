"""The private and undocumented parts of multiprocessing that native_impl/internals.py names, checked on the
Python in use: one that an upgrade drops or reshapes fails here, by name and with what reqrep needs it for,
rather than deep in a run."""

from __future__ import annotations

import platform
import re
import threading
from contextlib import contextmanager
from multiprocessing import connection as mp_connection
from multiprocessing import managers
from pathlib import Path

import pytest
from conftest import local_config

from native_impl import connection, internals, server
from shared.core.peers import Peer

pytestmark = pytest.mark.timeout(30)


@contextmanager
def internal(name: str, use: str):
    """A check that fails, in one sentence: the internal, and what reqrep's native variant uses it for."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError, AssertionError) as error:
        version = platform.python_version()
        pytest.fail(f"multiprocessing.{name} is gone or changed in Python {version}: reqrep's native variant "
                    f"uses it {use} ({error!r})", pytrace=False)


class Recorded:
    """A connection that records what is sent on it and has nothing to read."""

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message) -> None:
        self.sent.append(message)

    def recv(self):
        raise EOFError


@pytest.fixture
def stock_server():
    """A managers' server made as reqrep makes one (BaseManager.get_server), serving nothing."""
    made = server._server_for(server.Board(), ("127.0.0.1", 0), b"internals-test-key", stock=False)
    try:
        yield made
    finally:
        internals.listener_of(made).close()


@pytest.fixture
def board():
    """The board proxy of a real native server in a thread, and the thread's connection to it."""
    config = local_config("native")
    ready = threading.Event()
    serving = threading.Thread(target=server.serve, args=(config, ready), daemon=True)
    serving.start()
    assert ready.wait(10)
    proxy = connection.connect(config, Peer("test", config.role("server"), config.address))
    try:
        yield proxy
    finally:
        connection.disconnect(proxy)
        server.stop_threads(config)
        serving.join(10)


def test_listener_client_gives_the_managers_reqreps_connection_classes(stock_server):
    with internal("managers.listener_client", "to give the managers its connections (TCP_NODELAY, a deadline "
                                              "on the handshake), looked up by serializer name"):
        assert isinstance(managers.listener_client, dict)
        assert len(managers.listener_client["pickle"]) == 2
        assert managers.listener_client[connection.NODELAY] == (connection.Listener, connection.Client)
        assert type(internals.listener_of(stock_server)) is connection.Listener


def test_proxies_keep_their_thread_connection_in_tls(board):
    with internal("managers.BaseProxy._tls", "to close a thread's connection to the server, or shut it down "
                                             "from another thread when a run stops"):
        board.requests()  # a call: the thread's connection is open
        assert isinstance(internals.thread_connection(board), mp_connection.Connection)


def test_a_proxy_opens_its_thread_connection_with_connect(board):
    with internal("managers.BaseProxy._connect", "to open a one-hop requester's connection before its first "
                                                 "call, and put the run's timeout on it as its deadline"):
        assert internals.thread_connection(board) is None  # no call yet on this thread
        opened = internals.open_thread_connection(board)
        assert isinstance(opened, mp_connection.Connection) and internals.thread_connection(board) is opened
        assert internals.open_thread_connection(board) is opened  # opened once
        board.requests()  # and used by the calls


def test_a_proxy_is_released_by_its_close_finalizer(board):
    with internal("managers.BaseProxy._close", "to release a proxy (a decref on the server) when a role "
                                               "ends, not when the proxy is collected"):
        queue = board.requests()
        assert callable(queue._close)
        internals.release(queue)
        assert not queue._close.still_active()


def test_the_server_has_the_members_the_gate_relies_on(stock_server):
    with internal("managers.Server.listener", "to accept from the server's listening socket in its gate"):
        assert isinstance(internals.listener_of(stock_server).socket.fileno(), int)
    with internal("managers.Server.authkey", "to authenticate new connections in its gate"):
        assert internals.authkey_of(stock_server) == b"internals-test-key"
    with internal("managers.Server.public", "to check a client's first request, the stock server's way"):
        for name in ("dummy", "create", "get_methods", "accept_connection", "incref", "decref", "shutdown"):
            assert name in stock_server.public and callable(getattr(stock_server, name)), name


def test_the_server_stops_on_its_stop_event(stock_server):
    stop = internals.stop_flag(stock_server)
    with internal("managers.Server.stop_event", "to stop the server, which its gate runs in place of "
                                                "serve_forever, on the managers' 'shutdown' message"):
        stock_server.shutdown(Recorded())
        assert stop.is_set()
        stock_server.serve_client(Recorded())  # returns at once: the server is stopping


def test_the_first_request_is_answered_as_the_stock_server_answers_it(stock_server):
    with internal("managers.Server.handle_request", "(its steps after the challenges) for the connections "
                                                    "its gate authenticated"):
        conn = Recorded()
        conn.recv = lambda: (None, "number_of_objects", (), {})
        conn.close = lambda: None
        internals.handle_request(stock_server, conn)
        assert conn.sent == [("#RETURN", 0)]


UNDOCUMENTED = [  # public names, but not in the documentation: an upgrade may drop them without notice
    ("managers.dispatch", "to send the managers' 'shutdown' message when it stops a server of its own"),
    ("managers.RemoteError", "to tell a failed manager call from a lost connection"),
    ("connection.deliver_challenge", "to word its gate's challenges as this Python does"),
    ("connection.answer_challenge", "to answer challenges as this Python does, in its gate and its clients"),
    ("connection.CHALLENGE", "to read a client's challenge in its gate"),
    ("connection.WELCOME", "to welcome a client that answered in its gate"),
    ("connection.FAILURE", "to refuse a client with a wrong key in its gate"),
]


@pytest.mark.parametrize(("name", "use"), UNDOCUMENTED, ids=[name for name, _ in UNDOCUMENTED])
def test_the_undocumented_names_are_there(name, use):
    module, member = name.split(".")
    with internal(name, use):
        getattr({"managers": managers, "connection": mp_connection}[module], member)


PRIVATE = re.compile(r"\._tls\b|\._close\(|_registry\b|\._listener\b|_handle_request|listener_client|"
                     r"stop_event|\._connect\(")


def test_nothing_but_internals_touches_them():
    native = Path(__file__).parent.parent / "native_impl"
    touching = [f"{path.name}:{number}" for path in sorted(native.glob("*.py")) if path.name != "internals.py"
                for number, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert not touching, f"private multiprocessing names outside native_impl/internals.py: {touching}"
