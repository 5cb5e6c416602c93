"""msgpack-ext: msgpack plus extension types for the Python values plain msgpack loses (tuple, set, frozenset,
dates and times, Decimal, Fraction, complex, UUID, integers beyond 64 bits, and NumPy arrays where NumPy is
installed: see msgpack_ndarray.py). zmq only: on the native side the manager pickles every value, which keeps
these types already.

Every extension payload is plain data (bytes, or a msgpack array of plain values), so decoding never runs
code chosen by the sender: no pickle, no import by name. Decoding is bounded (`LIMITS`), and an unknown
extension code is an error, not an opaque object.

The wire format, enough to write msgpack-ext in another language. Everything but the extensions is plain
msgpack: nil, bool, integers in [-2^63, 2^64 - 1], float64, str (UTF-8), bin, array, and maps with keys of
any of these types. An *array* below is a msgpack array whose items are themselves msgpack-ext, so
extensions nest (a tuple of datetimes, a set of tuples).

| code | type | payload |
|---|---|---|
| 1 | tuple | an array of the items |
| 2 | set | an array of the elements, in any order |
| 3 | frozenset | an array of the elements, in any order |
| 4 | int beyond 64 bits | the integer in two's complement, big-endian, in the fewest bytes that hold its
  sign bit (at least one); only for integers outside [-2^63, 2^64 - 1] |
| 5 | datetime | an array [year, month, day, hour, minute, second, microsecond, offset, fold]: offset is the
  UTC offset in integer microseconds (east of UTC positive), nil for a naive datetime; fold is 0 or 1
  (PEP 495) |
| 6 | date | an array [year, month, day] |
| 7 | time | an array [hour, minute, second, microsecond, offset, fold], offset and fold as for datetime |
| 8 | timedelta | an array [days, seconds, microseconds], 0 <= seconds < 86,400,
  0 <= microseconds < 1,000,000 |
| 9 | Decimal | the number as ASCII text, `str(Decimal)`: `3.14`, `-0`, `-1.50E+1000`, `NaN`, `sNaN` |
| 10 | Fraction | an array [numerator, denominator] of integers (code 4 when large), denominator > 0 |
| 11 | complex | an array [real, imaginary] of two float64 |
| 12 | UUID | the UUID's 16 bytes in network order (RFC 9562) |
| 13 | numpy ndarray or scalar | its dtype, shape and raw bytes: see msgpack_ndarray.py |

Encoding: an aware datetime or time keeps its UTC offset but not its zone's name or rules (a ZoneInfo arrives
as a fixed-offset timezone); a time whose zone has no fixed offset is refused. bytearray and memoryview go as
bin, IntEnum and other int subclasses as int, a namedtuple as a tuple (code 1), subclasses of str, bytes,
float, list and dict as their base type; anything else (Enum, dataclasses, your classes, exceptions) is
refused with a TypeError at the requester. Decoding also reads msgpack's timestamp extension (-1) as an aware
UTC datetime, though msgpack-ext never writes it. Limits when decoding (`LIMITS`): a frame of 128 MiB, one
str, bin or extension payload of 128 MiB, 2^24 items in an array, 2^22 pairs in a map, 100 levels of
extensions in extensions, and 1,024 levels of arrays and maps (the fixed stack of msgpack's C unpacker).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, NamedTuple

import msgpack

from zmq_impl import msgpack_ndarray
from zmq_impl.msgpack_ndarray import NDARRAY


class Limits(NamedTuple):
    max_frame_bytes: int = 128 * 2**20  # a frame longer than this is refused before decoding
    max_array_len: int = 2**24  # elements of one msgpack array
    max_map_len: int = 2**22  # pairs of one msgpack map
    max_ext_depth: int = 100  # extensions inside extensions (a tuple in a tuple ...), both ways


LIMITS = Limits()
# Arrays and maps nested inside one msgpack document are bounded by msgpack's C unpacker itself: its stack
# holds 1,024 levels and it raises an empty StackError beyond that (measured with msgpack 1.2.4).
C_UNPACKER_DEPTH = 1024

# The extension codes, in the order of the table above, with their names there.
TUPLE, SET, FROZENSET, INT, DATETIME, DATE, TIME, TIMEDELTA, DECIMAL, FRACTION, COMPLEX, UUID = range(1, 13)
EXTENSIONS: dict[int, str] = {
    TUPLE: "tuple", SET: "set", FROZENSET: "frozenset", INT: "int beyond 64 bits", DATETIME: "datetime",
    DATE: "date", TIME: "time", TIMEDELTA: "timedelta", DECIMAL: "Decimal", FRACTION: "Fraction",
    COMPLEX: "complex", UUID: "UUID", NDARRAY: "numpy ndarray or scalar",
}
INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


class ExtensionError(ValueError):
    """A frame msgpack-ext refuses: an unknown extension code, a malformed payload, a limit exceeded."""


# ---- encoding --------------------------------------------------------------------------------------------
def encode(value: Any) -> bytes:
    if msgpack_ndarray.is_array(value):  # the whole message one array: framed without msgpack's copies
        return msgpack_ndarray.encode_alone(value, lambda inner: _pack(inner, 1))
    return _pack(value, 0)


def _pack(value: Any, depth: int) -> bytes:
    if depth > LIMITS.max_ext_depth:
        raise ExtensionError(f"extensions nested deeper than {LIMITS.max_ext_depth} levels")
    # strict_types: a tuple, an int subclass or a dict subclass reaches `default` instead of passing for a
    # list, an int or a dict, so that the tuple can be kept and the others converted on purpose.
    return msgpack.packb(value, default=lambda v: _extend(v, depth + 1), strict_types=True)


def _offset_us(moment: dt.datetime | dt.time) -> int | None:
    """The UTC offset in microseconds, or None when naive. The zone's name and rules are not kept."""
    if moment.tzinfo is None:
        return None
    offset = moment.utcoffset()
    if offset is None:
        raise ExtensionError(f"{moment!r} has a zone without a fixed offset")
    return offset // dt.timedelta(microseconds=1)


def _bigint_bytes(number: int) -> bytes:
    """Two's complement, big-endian, as few bytes as hold the sign bit."""
    return number.to_bytes((number + (number < 0)).bit_length() // 8 + 1, "big", signed=True)


def _extend(value: Any, depth: int) -> Any:
    """msgpack's `default`: what to send instead of a value msgpack has no type for."""
    def pack(inner: Any) -> bytes:  # a payload is itself msgpack-ext, one level deeper
        return _pack(inner, depth)

    if msgpack_ndarray.is_array(value):  # before float: numpy.float64 is a float
        return msgpack.ExtType(NDARRAY, b"".join(msgpack_ndarray.payload_parts(value, pack)))
    if isinstance(value, tuple):  # namedtuples too: they arrive as plain tuples (no import by name)
        return msgpack.ExtType(TUPLE, pack(list(value)))
    if isinstance(value, frozenset):
        return msgpack.ExtType(FROZENSET, pack(list(value)))
    if isinstance(value, set):
        return msgpack.ExtType(SET, pack(list(value)))
    if isinstance(value, int):  # beyond 64 bits, or an int subclass (bool never comes here: msgpack has it)
        if INT64_MIN <= value <= UINT64_MAX:
            return int(value)  # IntEnum and other subclasses become plain ints
        return msgpack.ExtType(INT, _bigint_bytes(int(value)))
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        fields = [value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond]
        return msgpack.ExtType(DATETIME, pack([*fields, _offset_us(value), value.fold]))
    if isinstance(value, dt.date):
        return msgpack.ExtType(DATE, pack([value.year, value.month, value.day]))
    if isinstance(value, dt.time):
        fields = [value.hour, value.minute, value.second, value.microsecond, _offset_us(value), value.fold]
        return msgpack.ExtType(TIME, pack(fields))
    if isinstance(value, dt.timedelta):
        return msgpack.ExtType(TIMEDELTA, pack([value.days, value.seconds, value.microseconds]))
    if isinstance(value, Decimal):
        return msgpack.ExtType(DECIMAL, str(value).encode("ascii"))
    if isinstance(value, Fraction):
        return msgpack.ExtType(FRACTION, pack([value.numerator, value.denominator]))
    if isinstance(value, complex):
        return msgpack.ExtType(COMPLEX, pack([float(value.real), float(value.imag)]))
    if isinstance(value, uuid.UUID):
        return msgpack.ExtType(UUID, value.bytes)
    for plain in (str, bytes, float, list, dict):  # other subclasses of what msgpack carries: as the base
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(f"msgpack-ext cannot encode {type(value).__qualname__!r} objects")


# ---- decoding --------------------------------------------------------------------------------------------
def decode(frame: bytes) -> Any:
    if len(frame) > LIMITS.max_frame_bytes:
        raise ExtensionError(f"a frame of {len(frame):,} bytes exceeds the limit of {LIMITS.max_frame_bytes:,}")
    alone = msgpack_ndarray.span_alone(frame)
    if alone is not None:  # the whole message one array: read in place, where msgpack would copy it
        start, length = alone
        return _restore(NDARRAY, memoryview(frame)[start:start + length], 1)
    return _unpack(frame, 0)


def _unpack(data: bytes, depth: int) -> Any:
    if depth > LIMITS.max_ext_depth:
        raise ExtensionError(f"extensions nested deeper than {LIMITS.max_ext_depth} levels")
    # strict_map_key=False: int, float, tuple keys are what this codec is for. The price: Python hashes
    # numbers and tuples without a random seed, so a sender can choose colliding keys (str and bytes keys,
    # the only ones plain msgpack accepts, are hashed with a seed); max_map_len bounds the damage.
    try:
        return msgpack.unpackb(data, ext_hook=lambda code, payload: _restore(code, payload, depth + 1),
                               strict_map_key=False, timestamp=3, max_str_len=LIMITS.max_frame_bytes,
                               max_bin_len=LIMITS.max_frame_bytes, max_ext_len=LIMITS.max_frame_bytes,
                               max_array_len=LIMITS.max_array_len, max_map_len=LIMITS.max_map_len)
    except msgpack.StackError:  # it says nothing by itself
        raise ExtensionError(f"arrays and maps nested deeper than {C_UNPACKER_DEPTH:,} levels") from None


def _fields(payload: bytes, depth: int, count: int, kinds: tuple) -> list:
    fields = _unpack(payload, depth)
    if not isinstance(fields, list) or len(fields) != count:
        raise ValueError(f"expected an array of {count} values")
    for field, kind in zip(fields, kinds, strict=True):
        if type(field) is bool or not isinstance(field, kind):
            raise ValueError(f"unexpected {type(field).__name__} {field!r}")
    return fields


def _zone(offset_us: int | None) -> dt.timezone | None:
    return None if offset_us is None else dt.timezone(dt.timedelta(microseconds=offset_us))


def _datetime(payload: bytes, depth: int) -> dt.datetime:
    *fields, offset, fold = _fields(payload, depth, 9, (int,) * 7 + ((int, type(None)), int))
    return dt.datetime(*fields, tzinfo=_zone(offset), fold=fold)


def _time(payload: bytes, depth: int) -> dt.time:
    *fields, offset, fold = _fields(payload, depth, 6, (int,) * 4 + ((int, type(None)), int))
    return dt.time(*fields, tzinfo=_zone(offset), fold=fold)


def _items(payload: bytes, depth: int) -> list:
    items = _unpack(payload, depth)
    if not isinstance(items, list):
        raise ValueError("expected an array")
    return items


def _decimal(payload: bytes, depth: int) -> Decimal:
    text = payload.decode("ascii")
    try:
        return Decimal(text)  # Decimal() accepts a number's text and nothing else
    except InvalidOperation:
        raise ValueError(f"{text[:40]!r} is not a decimal number") from None


def _bigint(payload: bytes, depth: int) -> int:
    if not payload:
        raise ValueError("an empty payload")
    return int.from_bytes(payload, "big", signed=True)


def _fraction(payload: bytes, depth: int) -> Fraction:
    numerator, denominator = _fields(payload, depth, 2, (int, int))
    if denominator <= 0:
        raise ValueError("the denominator must be positive")
    return Fraction(numerator, denominator)


RESTORE: dict[int, Callable[[bytes, int], Any]] = {
    TUPLE: lambda payload, depth: tuple(_items(payload, depth)),
    SET: lambda payload, depth: set(_items(payload, depth)),
    FROZENSET: lambda payload, depth: frozenset(_items(payload, depth)),
    INT: _bigint,
    DATETIME: _datetime,
    DATE: lambda payload, depth: dt.date(*_fields(payload, depth, 3, (int,) * 3)),
    TIME: _time,
    TIMEDELTA: lambda payload, depth: dt.timedelta(*_fields(payload, depth, 3, (int,) * 3)),
    DECIMAL: _decimal,
    FRACTION: _fraction,
    COMPLEX: lambda payload, depth: complex(*_fields(payload, depth, 2, (float, float))),
    UUID: lambda payload, depth: uuid.UUID(bytes=payload),
    NDARRAY: lambda payload, depth: msgpack_ndarray.restore(payload, lambda header: _unpack(header, depth),
                                                           LIMITS.max_array_len),
}


def _restore(code: int, payload: bytes, depth: int) -> Any:
    """msgpack's `ext_hook`: build the value of a known extension, refuse any other code."""
    restore = RESTORE.get(code)
    if restore is None:
        known = ", ".join(f"{c} ({name})" for c, name in EXTENSIONS.items())
        raise ExtensionError(f"unknown msgpack extension code {code}: msgpack-ext knows {known}")
    try:
        return restore(payload, depth)
    except ExtensionError:
        raise
    except (ValueError, TypeError, ArithmeticError, UnicodeDecodeError) as error:
        reason = str(error) or type(error).__name__
        raise ExtensionError(f"malformed {EXTENSIONS[code]} extension (code {code}): {reason}") from None
