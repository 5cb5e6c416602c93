"""What only the zmq variant has: the seed's raw wire format, spoken both ways, a REQ meeting a REP directly as
in the seed's example 1, and the size from which frames are sent without a copy (--zero-copy-above), seen as
pyzmq's hold on a frame it lent to libzmq."""

from __future__ import annotations

import signal
import sys
import threading

import pytest
import zmq
from conftest import local_config, reqrep, split_number, start_reqrep, wait_for_line

from shared.cli import commands as cli
from shared.core.config import CONCURRENCY
from shared.core.ports import free_port
from shared.core.run import response_side, run
from shared.semantics.values import Payload
from zmq_impl import codec as zmq_codec
from zmq_impl.connection import NEVER_ZERO_COPY, ZERO_COPY_BYTES, client_socket, sender, shared_context

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_raw_codec_run(concurrency):
    config = local_config("zmq", codec="raw", requests=300, requesters=3, responders=2, concurrency=concurrency)
    result = run(config)
    assert (result.ok, result.failed, result.duplicated) == (300, 0, 0)


def test_raw_server_speaks_the_seeds_wire_format():
    """What the original Racket request-router sends: one UTF-8 frame; the reply appends ' - echoed!'."""
    config = local_config("zmq", codec="raw", responders=2)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as seed:
            seed.linger, seed.rcvtimeo = 0, 5000
            seed.connect(config.address)
            seed.send(b"Hello, 3 41")
            assert seed.recv_multipart() == [b"Hello, 3 41 - echoed!"]


@pytest.mark.parametrize("concurrency", ["processes", "asyncio"])
def test_raw_responders_echo_any_utf8_text(concurrency):
    """The seed's responder echoes any UTF-8; a frame that starts with byte 0xCF (π is CF 80) is text in raw
    mode, not a numbered request."""
    texts = ["π is 3.14159", "Ϗ" * 20, "日本語のテキスト", "Hello, 0 1", "", "👋🏽 and more than nine bytes"]
    config = local_config("zmq", codec="raw", responders=1, concurrency=concurrency)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as seed:
            seed.linger, seed.rcvtimeo = 0, 5000
            seed.connect(config.address)
            for text in texts:
                seed.send(text.encode())
                assert seed.recv().decode() == text + " - echoed!"


def seed_responder(address: str, ready: threading.Event, served: list) -> None:
    """The seed's example-1 responder, as plainly as in Racket: REP bound, reply = request + ' - echoed!'."""
    with zmq.Context() as context, context.socket(zmq.REP) as rep:
        rep.linger, rep.rcvtimeo = 0, 20000
        rep.bind(address)
        ready.set()
        for _ in range(5):
            frame = rep.recv()
            served.append(frame)
            rep.send(frame + b" - echoed!")


def test_raw_request_talks_to_the_seeds_responder():
    address = f"tcp://127.0.0.1:{free_port()}"
    ready, served = threading.Event(), []
    responder = threading.Thread(target=seed_responder, args=(address, ready, served))
    responder.start()
    try:
        assert ready.wait(10)
        done = reqrep("zmq", "request", "--front", address, "--codec", "raw", "--example", "hello", "--quiet")
    finally:
        responder.join(30)
    assert done.returncode == 0, done.stderr
    assert served == [f"Hello, 0 {n}".encode() for n in range(5)]
    rows = [line.split("│")[1].strip() for line in done.stdout.splitlines() if line.startswith("│")]
    assert "responder" not in done.stdout.split("┏")[0] and "broker" not in rows  # a REP socket is all it met


def test_msgpack_frames_are_single_msgpack_values():
    config = local_config("zmq", responders=1)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as client:
            client.linger, client.rcvtimeo = 0, 5000
            client.connect(config.address)
            client.send(b"\xaaHello, 1 2")  # msgpack fixstr of 10 bytes
            assert client.recv() == b"\xb4Hello, 1 2 - echoed!"


@pytest.mark.parametrize("frames", [[b"\xc1"], [b""], [b"\x92\x01"], [b"\xa5Hello!"], [b"\xa5Hello", b"extra"],
                                    [b"\xcf" + bytes(8) + b"\xc1"], [b"\xd4\x2a\x00"]])
def test_malformed_frames_get_an_error_reply_and_the_responder_goes_on(frames):
    config = local_config("zmq", responders=1)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as client:
            client.linger, client.rcvtimeo = 0, 5000
            client.connect(config.address)
            client.send_multipart(frames)
            number, body = split_number(client.recv())
            assert number == frames[0][:len(number)]  # the number, when there was one, comes back
            error = zmq_codec.decode_msgpack(body)
            assert error["status"] == 400
            client.send(zmq_codec.CODECS["msgpack"].encode("Hello, 0 1"))
            assert zmq_codec.decode_msgpack(client.recv()) == "Hello, 0 1 - echoed!"


def test_zmq_serve_answers_the_seed_over_raw_frames():
    address = f"tcp://127.0.0.1:{free_port()}"
    server = start_reqrep("zmq", "serve", "--front", address, "--codec", "raw", "--responders", "2")
    try:
        wait_for_line(server, "serving on")
        with zmq.Context() as context, context.socket(zmq.REQ) as seed:
            seed.linger, seed.rcvtimeo = 0, 5000
            seed.connect(address)
            for n in range(5):
                seed.send(f"Hello, 0 {n}".encode())
                assert seed.recv() == f"Hello, 0 {n} - echoed!".encode()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == -signal.SIGTERM


@pytest.mark.parametrize("given, threshold", [([], ZERO_COPY_BYTES), (["--zero-copy-above", "0"], 0),
                                              (["--zero-copy-above", "4096"], 4096),
                                              (["--zero-copy-above", "off"], NEVER_ZERO_COPY)])
def test_zero_copy_above_sets_the_sockets_copy_threshold(given, threshold):
    config = cli.config_for(cli.parse(["run", "zmq", *given]), cli.TRANSPORTS["zmq"])
    assert config.settings.zero_copy_above == (None if given[1:] == ["off"] else threshold)
    socket = client_socket(config, zmq.DEALER)
    try:
        assert socket.copy_threshold == threshold
    finally:
        socket.close()


def held_by_libzmq(config, size: int) -> bool:
    """Whether a frame of `size` bytes, sent as a role of `config` sends it, is lent to libzmq (zero-copy: pyzmq
    keeps a reference to it until it is delivered) rather than copied into libzmq's message."""
    address = f"inproc://zero-copy-{size}-{id(config)}"
    pull = shared_context().socket(zmq.PULL)
    push = client_socket(config, zmq.PUSH)
    try:
        pull.bind(address)
        push.connect(address)
        frame = bytes(size)
        before = sys.getrefcount(frame)
        sender(push, config)(frame)
        held = sys.getrefcount(frame) > before  # still in the pipe: the reader has not taken it
        assert len(pull.recv()) == size
        return held
    finally:
        push.close()
        pull.close()


@pytest.mark.parametrize("changes, size, held", [
    ({"payload": "values"}, ZERO_COPY_BYTES, True),  # a run of values: copy=False, from the threshold on
    ({"payload": "values"}, ZERO_COPY_BYTES - 1, False),
    ({"payload": "values", "zero_copy_above": 0}, 100, True),
    ({"payload": "values", "zero_copy_above": None}, 4 * ZERO_COPY_BYTES, False),
    ({"payload_bytes": ZERO_COPY_BYTES}, ZERO_COPY_BYTES, True),  # a long padded text too
    ({}, ZERO_COPY_BYTES, False),  # the seed's small frames: the plain send, which copies whatever it is given
])
def test_large_frames_are_lent_to_libzmq_without_a_copy(changes, size, held):
    if changes.get("payload"):
        changes = {**changes, "payload": Payload("test", ("a",), ("a",))}
    assert held_by_libzmq(local_config("zmq", **changes), size) is held


@pytest.mark.parametrize("arguments, message", [
    (["run", "zmq", "--zero-copy-above", "lots"], "expected a number of bytes or off, not 'lots'"),
    (["run", "zmq", "--zero-copy-above", "-1"], "--zero-copy-above must be zero or more bytes, or off, not -1"),
    (["run", "native", "--zero-copy-above", "off"], "--zero-copy-above does not apply to `reqrep run native`"),
    (["zmq", "broker", "--zero-copy-above", "0"], "--zero-copy-above does not apply to `reqrep zmq broker`"),
])
def test_zero_copy_above_is_refused_where_it_does_not_fit(arguments, message, capsys):
    try:
        status = cli.main(arguments)
    except SystemExit as stop:  # argparse's own errors leave through sys.exit
        status = stop.code
    error = capsys.readouterr().err
    assert status == 2 and message in error and "Traceback" not in error, error
