"""A role pointed at a ZeroMQ socket of a type that refuses its own is told what that socket is, in one
sentence and exit status 2, and the look behind it (zmq_impl/greeting.py) reads a real peer's Socket-Type
and gives up within its deadline on anything that is not a NULL-mechanism ZeroMQ socket."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
import zmq
import zmq.auth
from conftest import reqrep
from test_cli import assert_usage_error

from shared.core.errors import UsageError
from shared.core.peers import Peer
from zmq_impl.connection import Handshake
from zmq_impl.greeting import PROBE_SECONDS, peer_socket_type

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def bound(tmp_path):
    """Bind pyzmq sockets of a given type on free loopback ports, or socket files (`ipc=True`): the test's own,
    closed afterwards."""
    context = zmq.Context()
    sockets = []

    def bind(kind: int, *, ipc: bool = False, **options) -> str:
        peer = context.socket(kind)
        peer.linger = 0
        for name, value in options.items():
            setattr(peer, name, value)
        sockets.append(peer)
        if ipc:
            peer.bind(address := f"ipc://{tmp_path}/socket-{len(sockets)}")
            return address
        return f"tcp://127.0.0.1:{peer.bind_to_random_port('tcp://127.0.0.1')}"

    yield bind
    for peer in sockets:
        peer.close()
    context.term()


@pytest.mark.parametrize("kind, said", ids=["DEALER", "PUB"], argvalues=[
    (zmq.DEALER, "is a ZeroMQ DEALER socket, which refuses a REQ socket (a REQ talks only to a REP or a "
                 "ROUTER): is it a zmq broker's --back? requesters connect to its --front"),
    (zmq.PUB, "is a ZeroMQ PUB socket, which refuses a REQ socket (a REQ talks only to a REP or a ROUTER): "
              "it is not a zmq broker"),
])
@pytest.mark.parametrize("ipc", [False, True], ids=["tcp", "ipc"])
def test_zmq_request_to_a_socket_that_refuses_req_names_its_type(bound, kind, said, ipc):
    address = bound(kind, ipc=ipc)
    started = time.monotonic()
    done = reqrep("zmq", "request", "--front", address, "--timeout", "5", "--requests", "10")
    took = time.monotonic() - started
    assert_usage_error(done, f"whatever listens at {address} {said}")
    assert "hung up before the ZMTP handshake" not in done.stderr
    assert took < 5, "it waited out the timeout instead of telling what it met"


def test_zmq_responders_pointed_at_a_router_are_told_it_may_be_a_brokers_front(bound):
    address = bound(zmq.ROUTER)
    done = reqrep("zmq", "responders", "--back", address, "--timeout", "5", "--responders", "1")
    assert_usage_error(done, f"whatever listens at {address} is a ZeroMQ ROUTER socket, which refuses a REP "
                             f"socket", "is it a zmq broker's --front? responders connect to its --back")


@pytest.mark.parametrize("kind, name", [(zmq.REP, "REP"), (zmq.DEALER, "DEALER"), (zmq.PUSH, "PUSH")])
def test_the_probe_reads_a_zeromq_peers_socket_type(bound, kind, name):
    assert peer_socket_type(bound(kind)) == name
    assert peer_socket_type(bound(kind, ipc=True)) == name  # over its socket file too


def test_the_probe_gives_up_on_a_listener_that_says_nothing_within_its_deadline():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        started = time.monotonic()
        assert peer_socket_type(f"tcp://127.0.0.1:{silent.getsockname()[1]}") is None
        took = time.monotonic() - started
    assert PROBE_SECONDS * 0.8 <= took < PROBE_SECONDS + 1.0


@pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")
def test_the_probe_tells_nothing_of_a_curve_server(bound):
    """Its greeting says CURVE: the Socket-Type comes only after a handshake with keys, so the probe stops."""
    _, secret = zmq.curve_keypair()
    started = time.monotonic()
    assert peer_socket_type(bound(zmq.REP, curve_server=True, curve_secretkey=secret)) is None
    assert time.monotonic() - started < PROBE_SECONDS


def test_the_probe_tells_nothing_of_a_peer_that_is_not_zeromq_or_not_there():
    with socket.create_server(("127.0.0.1", 0)) as listening:
        answering = threading.Thread(target=answer_like_http, args=(listening,))
        answering.start()
        started = time.monotonic()
        assert peer_socket_type(f"tcp://127.0.0.1:{listening.getsockname()[1]}") is None
        assert time.monotonic() - started < PROBE_SECONDS
        answering.join(timeout=5)
    gone = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{gone.getsockname()[1]}"
    gone.close()
    assert peer_socket_type(address) is None
    assert peer_socket_type("inproc://nowhere") is None


def answer_like_http(listening: socket.socket) -> None:
    accepted, _ = listening.accept()
    with accepted:
        accepted.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize("event, value", [(zmq.EVENT_DISCONNECTED, 0),  # the peer read our READY first
                                          (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 32),  # EPIPE, writing to it
                                          (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,  # or ours read its READY first
                                           zmq.PROTOCOL_ERROR_ZMTP_INVALID_METADATA)])
def test_whichever_side_hangs_up_first_the_refusal_names_the_peers_type(bound, event, value):
    """libzmq reports the same mismatch as either event, depending on which side reads the other's READY
    first: the race is set here by hand, the peer is real."""
    address = bound(zmq.PUB)
    handshake = Handshake(Peer("zmq requester 0", "zmq broker", address), 5.0, False, "REQ")
    handshake.reached = True
    with pytest.raises(UsageError, match="is a ZeroMQ PUB socket, which refuses a REQ socket"):
        handshake.done([struct.pack("=HI", event, value), address.encode()])


@pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")
def test_under_curve_a_refusing_socket_type_is_named_as_a_possibility(bound, tmp_path):
    """With CURVE the peer checks our type after the keys, hangs up, and hides its own type from a look."""
    folder = tmp_path / "keys"
    assert reqrep("zmq", "keys", str(folder)).returncode == 0
    _, secret = zmq.auth.load_certificate(str(folder / "server.key_secret"))
    address = bound(zmq.DEALER, curve_server=True, curve_secretkey=secret)
    done = reqrep("zmq", "request", "--front", address, "--curve", str(folder), "--timeout", "5",
                  "--requests", "10")
    assert_usage_error(done, "broke off the CURVE handshake", "or it is a socket of a type that refuses this REQ")
