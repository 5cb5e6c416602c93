"""msgpack-ext, the zmq side's third codec: every type it claims comes back with its type and value, nested
in lists, tuples and dicts; hostile frames are refused with a clear error and never run code; the documented
extension table is the code's."""

from __future__ import annotations

import copy
import datetime as dt
import re
import subprocess
import sys
import uuid
from decimal import Decimal
from fractions import Fraction

import msgpack
import pytest
import zmq
from conftest import TRANSPORTS, local_config, reqrep

from shared.core.run import response_side, run
from shared.semantics.outcomes import differences
from zmq_impl import msgpack_ext
from zmq_impl.msgpack_ext import ExtensionError, Limits, decode, encode

pytestmark = pytest.mark.timeout(60)
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))

# One value per type msgpack-ext claims, and whether it can be a dict key or a set element.
CLAIMED = {
    "tuple": ((1, "two", (3.0, None)), True),
    "tuple-empty": ((), True),
    "set": ({1, "two", (3, 4)}, False),
    "frozenset": (frozenset({1, (2, 3)}), True),
    "int-2**64": (2**64, True),
    "int-minus-2**63-1": (-(2**63) - 1, True),
    "int-minus-2**200": (-(2**200), True),
    "datetime-naive": (dt.datetime(2024, 5, 17, 13, 45, 30, 123456), True),
    "datetime-aware": (dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=PLUS_TWO), True),
    "datetime-utc": (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), True),
    "datetime-fold": (dt.datetime(2024, 10, 27, 2, 30, fold=1), True),
    "datetime-offset-microseconds": (dt.datetime(2000, 1, 1, tzinfo=dt.timezone(dt.timedelta(microseconds=-7))),
                                     True),
    "date": (dt.date(2024, 2, 29), True),
    "time-naive": (dt.time(23, 59, 59, 999999), True),
    "time-aware": (dt.time(1, 2, 3, tzinfo=PLUS_TWO), True),
    "timedelta": (dt.timedelta(days=-3, seconds=5, microseconds=7), True),
    "decimal": (Decimal("3.14"), True),
    "decimal-exponent": (Decimal("-1.50E+1000"), True),
    "decimal-minus-zero": (Decimal("-0"), True),
    "decimal-nan": (Decimal("NaN"), False),
    "decimal-infinity": (Decimal("-Infinity"), True),
    "fraction": (Fraction(-22, 7), True),
    "fraction-big": (Fraction(2**100, 3), True),
    "complex": (complex(1.5, -0.0), True),
    "uuid": (uuid.UUID("12345678-1234-5678-1234-567812345678"), True),
}


def nestings(value, hashable: bool) -> list:
    again = copy.deepcopy(value)  # msgpack-ext keeps types and values, not the sharing of a mutable set
    shapes = [value, [value], (value,), {"key": value}, [1, (2, {"deep": [value, (again,)]})]]
    if hashable:
        shapes += [{value: "as a key"}, {(value, 1): [value]}, frozenset({value})]
    return shapes


@pytest.mark.parametrize("name", CLAIMED)
def test_every_claimed_type_comes_back_with_its_type_and_value(name):
    value, hashable = CLAIMED[name]
    for shape in nestings(value, hashable):
        assert differences(shape, decode(encode(shape))) == [], shape


def test_every_claimed_type_through_a_real_responder():
    config = local_config("zmq", codec="msgpack-ext", workload="mirror", responders=1)
    values = [shape for value, hashable in CLAIMED.values() for shape in nestings(value, hashable)]
    with response_side(config):
        deliveries = TRANSPORTS["zmq"].deliver(config, values)
    for value, delivery in zip(values, deliveries, strict=True):
        assert not delivery.failed and differences(value, delivery.reply) == [], (value, delivery)


@pytest.mark.parametrize("workload", ["echo", "rpc", "mirror"])
def test_a_run_with_msgpack_ext_verifies_every_reply(workload):
    result = run(local_config("zmq", codec="msgpack-ext", workload=workload, requests=300, requesters=3))
    assert (result.ok, result.failed, result.duplicated) == (300, 0, 0)


def test_the_documented_extension_table_is_the_codes_table():
    """The wire format in msgpack_ext's docstring names every code the codec knows, by the name it uses."""
    rows = {int(code): name for code, name in re.findall(r"^\| (\d+) \| ([^|]+?) \|", msgpack_ext.__doc__,
                                                          re.MULTILINE)}
    assert rows == msgpack_ext.EXTENSIONS


# ---- hostile frames -----------------------------------------------------------------------------------------
def ext(code: int, payload: bytes) -> bytes:
    return msgpack.packb(msgpack.ExtType(code, payload))


@pytest.mark.parametrize("frame, message", [
    (ext(42, b"x"), "unknown msgpack extension code 42"),
    (ext(msgpack_ext.UUID, b"short"), "malformed UUID extension"),
    (ext(msgpack_ext.FRACTION, msgpack.packb([1, 0])), "the denominator must be positive"),
    (ext(msgpack_ext.DATETIME, msgpack.packb([2024, 13, 1, 0, 0, 0, 0, None, 0])), "month must be in 1..12"),
    (ext(msgpack_ext.DATETIME, msgpack.packb([2024, 1, 1])), "expected an array of 9 values"),
    (ext(msgpack_ext.TIME, msgpack.packb([1, 2, 3, 4, "+02:00", 0])), "unexpected str"),
    (ext(msgpack_ext.COMPLEX, msgpack.packb([True, 1.0])), "unexpected bool"),
    (ext(msgpack_ext.INT, b""), "an empty payload"),
    (ext(msgpack_ext.DECIMAL, b"__import__('os').system('true')"), "is not a decimal number"),
    (ext(msgpack_ext.TUPLE, b"\xc1"), "malformed tuple extension"),
    (ext(msgpack_ext.SET, msgpack.packb([[1]])), "unhashable type: 'list'"),
    (b"\x91" * 1025 + b"\xc0", "arrays and maps nested deeper than 1,024 levels"),
    (b"\xdd\xff\xff\xff\xff", "exceeds max_array_len"),  # announces 4 billion elements, holds none
    (b"\xdf\xff\xff\xff\xff", "exceeds max_map_len"),
])
def test_a_hostile_frame_is_refused_with_a_clear_error(frame, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        decode(frame)


def test_extensions_nest_at_most_max_ext_depth_levels_both_ways():
    value = None
    for _ in range(msgpack_ext.LIMITS.max_ext_depth):
        value = (value,)
    assert decode(encode(value)) == value
    with pytest.raises(ExtensionError, match="extensions nested deeper than"):
        encode((value,))
    frame = msgpack.packb(None)
    for _ in range(msgpack_ext.LIMITS.max_ext_depth + 1):
        frame = ext(msgpack_ext.TUPLE, b"\x91" + frame)  # a tuple holding the frame so far
    with pytest.raises(ExtensionError, match="extensions nested deeper than"):
        decode(frame)


def test_a_frame_over_the_size_limit_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(msgpack_ext, "LIMITS", Limits(max_frame_bytes=1000))
    assert decode(encode("x" * 900)) == "x" * 900
    with pytest.raises(ExtensionError, match="a frame of 1,0.. bytes exceeds the limit of 1,000"):
        decode(encode("x" * 1000))


def test_the_standard_timestamp_extension_is_read_as_an_aware_utc_datetime():
    moment = dt.datetime(2024, 5, 17, 11, 45, 30, 123456, tzinfo=dt.UTC)
    assert decode(msgpack.packb(moment, datetime=True)) == moment


def test_what_msgpack_ext_does_not_claim_is_refused_or_converted_as_documented():
    for refused in (object(), ValueError("boom"), len):
        with pytest.raises(TypeError, match="msgpack-ext cannot encode"):
            encode(refused)
    assert decode(encode(bytearray(b"ab"))) == b"ab"


def test_a_responder_answers_a_hostile_frame_with_an_error_and_goes_on():
    config = local_config("zmq", codec="msgpack-ext", workload="mirror", responders=1)
    with response_side(config):
        with zmq.Context() as context, context.socket(zmq.REQ) as client:
            client.linger, client.rcvtimeo = 0, 5000
            client.connect(config.address)
            client.send(ext(42, b"\x80\x04\x95"))  # the start of a pickle, in a code nobody knows
            error = decode(client.recv())
            assert error["stage"] == "decoding at the responder"
            assert "unknown msgpack extension code 42" in error["body"]
            client.send(encode((1, {2, 3})))
            assert decode(client.recv()) == (1, {2, 3})


def test_run_and_compare_accept_msgpack_ext_only_for_zmq():
    done = reqrep("run", "native", "--codec", "msgpack-ext", "--requests", "10")
    assert done.returncode == 2 and "unknown codec 'msgpack-ext' for native" in done.stderr
    done = reqrep("run", "zmq", "--codec", "msgpack-ext", "--workload", "rpc", "--requests", "200", "--quiet")
    assert done.returncode == 0, done.stderr


WITHOUT_NUMPY = """
import sys
sys.modules["numpy"] = None  # as if it were not installed: importing it fails
import msgpack
from shared.semantics import corpus
from zmq_impl.msgpack_ext import ExtensionError, decode, encode
cases, notes = corpus.build()
assert not any(case.name.startswith("numpy") for case in cases) and "numpy" in notes[0], notes
assert decode(encode((1, 2))) == (1, 2)
header = msgpack.packb(["<f8", [1], False])
try:
    decode(msgpack.packb(msgpack.ExtType(13, len(header).to_bytes(4, "big") + header + bytes(8))))
except ExtensionError as error:
    print(error)
"""


def test_without_numpy_the_rows_are_noted_and_an_array_is_refused_in_words():
    done = subprocess.run([sys.executable, "-c", WITHOUT_NUMPY], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "an ndarray needs NumPy, which is not installed here" in done.stdout
