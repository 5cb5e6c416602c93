"""NumPy arrays through msgpack-ext's extension 13 and through the real paths: every dtype and shape hypothesis
draws comes back with its dtype, shape and bytes, read-only, and an array alone in a message is read in place;
hostile headers are refused without running code. Skipped, saying why, where NumPy is not installed."""

from __future__ import annotations

import re

import msgpack
import pytest

numpy = pytest.importorskip("numpy", reason="numpy is not installed: pip install -e '.[numpy]' to test ndarrays")

from conftest import TRANSPORTS, local_config  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from shared.core.run import response_side  # noqa: E402
from shared.semantics.outcomes import differences  # noqa: E402
from zmq_impl import msgpack_ndarray  # noqa: E402
from zmq_impl.msgpack_ext import ExtensionError, decode, encode  # noqa: E402
from zmq_impl.msgpack_ndarray import NDARRAY, ext_head  # noqa: E402

pytestmark = pytest.mark.timeout(120)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ORDERED = hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes()
SCALAR_DTYPES = ORDERED | ORDERED.map(lambda dtype: dtype.newbyteorder())  # the other byte order too
DTYPES = SCALAR_DTYPES | hnp.nested_dtypes(subtype_strategy=SCALAR_DTYPES, max_itemsize=64)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
ARRAYS = hnp.arrays(DTYPES, SHAPES)


def views(array):
    """The array as sent, and the layouts msgpack-ext must handle: every other item, and reversed axes."""
    found = [array, array.T]
    if array.ndim:
        found.append(array[..., ::2])
    return found


def same(sent, received) -> bool:
    return differences(sent, received, flags=False) == []


@PROPERTY_SETTINGS
@given(ARRAYS)
def test_every_dtype_and_shape_comes_back_with_its_bytes_read_only(array):
    for sent in views(array):
        received = decode(encode(sent))
        assert same(sent, received), (sent, received)
        assert received.dtype.str == sent.dtype.str and not received.flags.writeable


@PROPERTY_SETTINGS
@given(ARRAYS.filter(lambda array: array.size > 0))
def test_a_numpy_scalar_comes_back_as_one(array):
    scalar = array.reshape(-1)[0]
    received = decode(encode([scalar]))[0]
    assert type(received) is type(scalar) and same(scalar, received)


@PROPERTY_SETTINGS
@given(st.lists(ARRAYS, max_size=3), st.dictionaries(st.text(max_size=4), ARRAYS, max_size=3))
def test_arrays_nested_in_lists_tuples_and_maps(arrays, named):
    value = [arrays, tuple(arrays), named]
    assert same(value, decode(encode(value)))


def test_an_array_alone_is_read_in_place_over_the_frame():
    frame = encode(numpy.arange(1000.0))
    array = decode(frame)
    start = numpy.frombuffer(frame, numpy.uint8).__array_interface__["data"][0]
    assert start <= array.__array_interface__["data"][0] < start + len(frame)
    assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 1.0


@pytest.mark.parametrize("length", [1, 2, 3, 4, 8, 16, 17, 255, 256, 65535, 65536])
def test_the_framing_of_an_array_alone_is_msgpacks_own(length):
    payload = bytes(length)
    assert ext_head(NDARRAY, length) + payload == msgpack.packb(msgpack.ExtType(NDARRAY, payload))


def test_what_msgpack_ext_refuses():
    refused = [(numpy.array([1, "two"], dtype=object), "object dtype"),
               (numpy.array([(1, None)], dtype=[("a", "i4"), ("b", "O")]), "object dtype"),
               (numpy.ma.masked_array([1, 2], mask=[0, 1]), "its mask would be lost")]
    if hasattr(numpy, "dtypes") and hasattr(numpy.dtypes, "StringDType"):  # NumPy 2's variable-width strings
        refused.append((numpy.array(["a"], dtype=numpy.dtypes.StringDType()), "cannot encode an ndarray"))
    for value, reason in refused:
        with pytest.raises(TypeError, match=reason):
            encode(value)


# ---- hostile payloads -------------------------------------------------------------------------------------------
def payload(fields, data: bytes = b"") -> bytes:
    header = encode(fields)
    return msgpack.packb(msgpack.ExtType(NDARRAY, len(header).to_bytes(4, "big") + header + data))


@pytest.mark.parametrize("frame, message", [
    (msgpack.packb(msgpack.ExtType(NDARRAY, b"\x00\x00")), "no header length"),
    (msgpack.packb(msgpack.ExtType(NDARRAY, b"\x00\x00\x10\x00" + b"\x90")), "a header of 4,096 bytes"),
    (payload(["<f8", [2]]), "expected a header [dtype, shape, fortran]"),
    (payload(["<f8", [2], 1], bytes(16)), "expected a header [dtype, shape, fortran]"),
    (payload(["|O", [1], False], bytes(8)), "object dtype is refused"),
    (payload([[("a", "|O")], [1], False], bytes(8)), "object dtype is refused"),
    (payload(["<f8", [3], False], bytes(16)), "16 bytes of data for 3 items of 8 bytes"),
    (payload(["<f8", [-1], False]), "every size of the shape must be an integer of 0 or more"),
    (payload(["<f8", [True], False], bytes(8)), "every size of the shape must be an integer of 0 or more"),
    (payload(["<f8", [1] * 65, False], bytes(8)), "at most 64 sizes"),
    (payload(["__import__('os')", [1], False], bytes(8)), "not a dtype"),
    (payload([7, [1], False], bytes(8)), "the dtype must be a string or a list of fields"),
    (payload(["V0", [2**40], False]), "items of no size exceed the limit"),
])
def test_a_hostile_array_is_refused_with_a_clear_error(frame, message):
    for message_frame in (frame, msgpack.packb([msgpack.unpackb(frame, ext_hook=msgpack.ExtType)])):  # alone, nested
        with pytest.raises(ExtensionError, match=re.escape(message)):
            decode(message_frame)


# ---- through the real paths ------------------------------------------------------------------------------------
SENT = [numpy.arange(12.0).reshape(3, 4), numpy.arange(24, dtype="int16").reshape(4, 6)[::2, 1::2],
        numpy.asfortranarray(numpy.arange(6).reshape(2, 3)), numpy.array(3.5), numpy.int64(-7),
        numpy.zeros((0, 3)), numpy.array([(1, 2.5, b"ab")], dtype=[("id", "<i4"), ("x", "<f8"), ("tag", "S2")]),
        numpy.array(["ab", "c"]), numpy.array([1, 2], dtype="datetime64[ns]"),
        [numpy.arange(3), {"k": (numpy.float32(1.5),)}], numpy.arange(2**20, dtype="float64")]


@pytest.mark.parametrize("transport, codec", [("zmq", "msgpack-ext"), ("native", "pickle")])
def test_arrays_come_back_identical_through_a_real_responder(transport, codec):
    config = local_config(transport, codec=codec, workload="mirror", responders=1, timeout=10.0)
    with response_side(config):
        deliveries = TRANSPORTS[transport].deliver(config, SENT)
    for sent, delivery in zip(SENT, deliveries, strict=True):
        assert not delivery.failed and same(sent, delivery.reply), (sent, delivery)


@pytest.mark.timeout(120)
def test_hypothesis_arrays_through_a_real_msgpack_ext_responder():
    config = local_config("zmq", codec="msgpack-ext", workload="mirror", responders=1, timeout=10.0)
    with response_side(config):
        @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(ARRAYS, min_size=1, max_size=6))
        def every_array_comes_back(arrays):
            for sent, delivery in zip(arrays, TRANSPORTS["zmq"].deliver(config, arrays), strict=True):
                assert not delivery.failed and same(sent, delivery.reply), (sent, delivery)

        every_array_comes_back()


def test_pickle_protocol_4_turns_a_foreign_byte_order_native():
    """Why the semantics table shows `dtype >i4 → int32` for native: the managers pickle with the default
    protocol, and NumPy's reduction below protocol 5 rebuilds the array in native byte order."""
    config = local_config("native", workload="mirror", responders=1)
    sent = numpy.arange(4, dtype=">i4")
    with response_side(config):
        [delivery] = TRANSPORTS["native"].deliver(config, [sent])
    assert differences(sent, delivery.reply, flags=False) == ["dtype >i4 → int32"]
    assert (delivery.reply == sent).all()


def test_the_large_frame_is_sent_without_a_copy_above_the_threshold():
    assert msgpack_ndarray.NDARRAY == 13
    from zmq_impl.connection import ZERO_COPY_BYTES, client_socket

    socket = client_socket(local_config("zmq"), __import__("zmq").DEALER)
    try:
        assert socket.copy_threshold == ZERO_COPY_BYTES
    finally:
        socket.close()
