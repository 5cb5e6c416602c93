"""Hostile input on the zmq response side: whatever arrives, the responder answers (a 400 with a reason)
or the socket refuses it, and the next valid request is answered. Fuzzed with hypothesis, then checked
with a verified run."""

from __future__ import annotations

import msgpack
import pytest
import zmq
from conftest import local_config, split_number
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.core.run import response_side, run
from zmq_impl.codec import decode_msgpack, request_id

pytestmark = pytest.mark.timeout(120)

DEEP = b"\x91" * 10_000 + b"\xc0"  # nesting 10,000 deep
HOSTILE = {
    "empty": b"",
    "never-used-byte": b"\xc1",
    "array-of-2**31-announced": b"\xdd\x80\x00\x00\x00",
    "map-of-2**32-1-announced": b"\xdf\xff\xff\xff\xff" + b"\x01" * 16,
    "str-of-2-GiB-truncated": b"\xdb\x7f\xff\xff\xff" + b"x",
    "nesting-10000-deep": DEEP,
    "unknown-extension-code": b"\xd4\x2a\x00",
    "wrong-shape-for-echo": msgpack.packb([1, 2, 3]),
    "rpc-map-without-path": msgpack.packb({"method": "GET"}),
    "rpc-map-of-wrong-types": msgpack.packb({"method": 1, "path": [], "body": None}),
    "truncated": msgpack.packb("Hello, 1 2")[:-3],
    "number-without-body": request_id(7),
}


def junk_frames():
    """One message: one to four frames of bytes that are mostly not what a responder expects."""
    frame = st.one_of(
        st.binary(max_size=64),
        st.sampled_from(sorted(HOSTILE)).map(HOSTILE.get),
        st.builds(lambda body: request_id(3) + body, st.binary(max_size=32)),
        st.builds(lambda value, cut: msgpack.packb(value)[:cut],
                  st.recursive(st.none() | st.integers(-2**63, 2**64 - 1) | st.text(max_size=8) | st.binary(max_size=8),
                               lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                         max_size=4),
                               max_leaves=8),
                  st.integers(min_value=0, max_value=40)),
        st.builds(lambda code, data: msgpack.packb(msgpack.ExtType(code, data)),
                  st.integers(min_value=0, max_value=127), st.binary(max_size=8)),
    )
    return st.lists(frame, min_size=1, max_size=4)


def answer(client: zmq.Socket, frames: list[bytes]):
    client.send_multipart(frames)
    return client.recv()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_each_hostile_frame_gets_a_reply_and_the_responder_goes_on(case):
    frame = HOSTILE[case]
    config = local_config("zmq", responders=1)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as client:
            client.linger, client.rcvtimeo = 0, 5000
            client.connect(config.address)
            _, body = split_number(answer(client, [frame]))
            reply = decode_msgpack(body)
            assert isinstance(reply, str | dict)
            if isinstance(reply, dict) and reply.get("status") == 400:
                assert reply["body"]  # a reason
            assert answer(client, [msgpack.packb("Hello, 0 1")]) == msgpack.packb("Hello, 0 1 - echoed!")


def answer_all(client: zmq.Socket, messages: list[list[bytes]]) -> None:
    """`messages` sent at once, as many REQ sockets would (the empty delimiter first), and one reply of one
    frame received for each (in whatever order the responders give them)."""
    for frames in messages:
        client.send_multipart([b"", *frames])
    for _ in messages:
        delimiter, *reply = client.recv_multipart()
        assert delimiter == b"" and len(reply) == 1, reply


def test_ten_thousand_malformed_messages_then_a_verified_run():
    config = local_config("zmq", responders=2, requests=2000, requesters=4)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.DEALER) as client:
            client.linger, client.rcvtimeo = 0, 5000
            client.connect(config.address)
            sent = []

            @settings(max_examples=50, deadline=None, derandomize=True, print_blob=False,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
            @given(st.lists(junk_frames(), min_size=40, max_size=40))
            def fuzz(messages):
                for _ in range(5):  # 2,000 drawn, each sent 5 times: drawing costs more than sending
                    answer_all(client, messages)  # every message gets an answer: REP must reply to go on
                    sent.extend(len(frames) for frames in messages)

            fuzz()
        assert len(sent) >= 10_000
        result = run(config, local_server=False)
    assert (result.ok, result.failed, result.duplicated) == (2000, 0, 0)


def test_oversized_messages_are_refused_and_others_still_served():
    config = local_config("zmq", responders=1, max_message_bytes=1024 * 1024)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as big, context.socket(zmq.REQ) as small:
            for client in (big, small):
                client.linger, client.rcvtimeo = 0, 1000
                client.connect(config.address)
            big.send(msgpack.packb("x" * (2 * 1024 * 1024)))
            with pytest.raises(zmq.Again):
                big.recv()  # the broker dropped the connection: no answer ever comes
            assert answer(small, [msgpack.packb("Hello, 0 1")]) == msgpack.packb("Hello, 0 1 - echoed!")
