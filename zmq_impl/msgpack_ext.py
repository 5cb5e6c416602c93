"""msgpack-ext: msgpack plus extension types for the Python values plain msgpack loses (tuple, set, frozenset,
dates and times, Decimal, Fraction, complex, UUID, integers beyond 64 bits, NumPy arrays: msgpack_ndarray).
zmq only: on the native side the manager pickles every value, which keeps these types already.

Every payload is plain data (bytes, or a msgpack array of plain values), so decoding runs no code chosen by
the sender (no pickle, no import by name); it is bounded (`LIMITS`) and refuses an unknown extension code.

The wire format, enough to write msgpack-ext in another language: plain msgpack (nil, bool, integers in
[-2^63, 2^64 - 1], float64, UTF-8 str, bin, array, maps with keys of any of these types) and the extensions
below. An *array* is a msgpack array of msgpack-ext items, so extensions nest (a tuple of datetimes).

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

Encoding: an aware datetime or time keeps its UTC offset, not its zone's name or rules (a ZoneInfo arrives
as a fixed-offset timezone); a time whose zone has no fixed offset is refused. bytearray and memoryview go as
bin, int subclasses as int, a namedtuple as a tuple, subclasses of str, bytes, float, list and dict as their
base type; anything else (Enum, dataclasses, your classes) is refused with a TypeError at the requester.
Decoding also reads msgpack's timestamp (-1) as an aware UTC datetime, though msgpack-ext never writes it.
Its limits (`LIMITS`): 128 MiB a frame and a str, bin or extension payload, 2^24 items in an array, 2^22
pairs in a map, 100 levels of extensions in extensions, 1,024 of arrays and maps (msgpack's C unpacker's
stack).
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
C_UNPACKER_DEPTH = 1024  # msgpack's C unpacker's stack; deeper, it raises an empty StackError (msgpack 1.2.4)

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


# The extensions whose payload is an array, by the type they carry and the array's items. Tried in this
# order: a datetime is a date. A namedtuple goes as a tuple: no import by name.
ARRAYS: tuple[tuple[type, int, Callable[[Any], list]], ...] = (
    (tuple, TUPLE, list),
    (frozenset, FROZENSET, list),
    (set, SET, list),
    (dt.datetime, DATETIME, lambda v: [v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond,
                                       _offset_us(v), v.fold]),
    (dt.date, DATE, lambda v: [v.year, v.month, v.day]),
    (dt.time, TIME, lambda v: [v.hour, v.minute, v.second, v.microsecond, _offset_us(v), v.fold]),
    (dt.timedelta, TIMEDELTA, lambda v: [v.days, v.seconds, v.microseconds]),
    (Fraction, FRACTION, lambda v: [v.numerator, v.denominator]),
    (complex, COMPLEX, lambda v: [float(v.real), float(v.imag)]),
)


def _extend(value: Any, depth: int) -> Any:
    """msgpack's `default`: what to send instead of a value msgpack has no type for."""
    if msgpack_ndarray.is_array(value):  # before float: numpy.float64 is a float
        return msgpack.ExtType(NDARRAY, b"".join(msgpack_ndarray.payload_parts(value, lambda v: _pack(v, depth))))
    for kind, code, items in ARRAYS:
        if isinstance(value, kind):  # the payload is itself msgpack-ext, one level deeper
            return msgpack.ExtType(code, _pack(items(value), depth))
    if isinstance(value, int):  # beyond 64 bits, or an int subclass (bool never comes here: msgpack has it)
        if INT64_MIN <= value <= UINT64_MAX:
            return int(value)  # IntEnum and other subclasses become plain ints
        number = int(value)  # two's complement, big-endian, as few bytes as hold the sign bit
        return msgpack.ExtType(INT, number.to_bytes((number + (number < 0)).bit_length() // 8 + 1, "big", signed=True))
    if isinstance(value, Decimal):
        return msgpack.ExtType(DECIMAL, str(value).encode("ascii"))
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


def _items(payload: bytes, depth: int) -> list:
    items = _unpack(payload, depth)
    if not isinstance(items, list):
        raise ValueError("expected an array")
    return items


def _moment(kind: type, count: int) -> Callable[[bytes, int], Any]:
    """A datetime's or a time's restore: `count` fields, the last two the UTC offset (or nil) and the fold."""
    def restore(payload: bytes, depth: int) -> Any:
        *fields, offset, fold = _fields(payload, depth, count, (int,) * (count - 2) + ((int, type(None)), int))
        zone = None if offset is None else dt.timezone(dt.timedelta(microseconds=offset))
        return kind(*fields, tzinfo=zone, fold=fold)
    return restore


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
    DATETIME: _moment(dt.datetime, 9),
    DATE: lambda payload, depth: dt.date(*_fields(payload, depth, 3, (int,) * 3)),
    TIME: _moment(dt.time, 6),
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
