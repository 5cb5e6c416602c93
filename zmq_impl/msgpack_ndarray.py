"""The ndarray extension of msgpack-ext (code 13): a NumPy array or scalar as its dtype, shape and raw buffer.
zmq only, as msgpack-ext is: the native side pickles arrays, which keeps them already.

NumPy stays optional: an encoder meets an array only once NumPy is imported, and a decoder without it
refuses the code in a sentence. Decoding runs no code chosen by the sender: `numpy.lib.format.descr_to_dtype`
(the .npy reader: plain strings and lists, never pickle) rebuilds the dtype, object dtypes are refused, and
the buffer's length must be exactly what the dtype and the shape say.

The payload: 4 bytes (big-endian) giving the header's length h, h bytes of header (a msgpack-ext array
[dtype, shape, fortran]), then the raw bytes. dtype is the dtype's `.str` ('<f8', '>i4', '|S3': the byte
order always explicit), or its `.descr` list for a structured dtype; shape is an array of sizes, or nil for
a NumPy scalar; fortran says whether the bytes are in Fortran (column-major) order rather than C order.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable
from typing import Any

NDARRAY = 13
HEADER_LENGTH = struct.Struct(">I")
MAX_DIMENSIONS = 64  # NumPy 2's limit (32 before): more is a malformed header, not an array
# msgpack's ext formats: fixext 1, 2, 4, 8, 16 (type byte only), then ext 8, 16, 32 (length, then type byte).
FIXEXT = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
FIXED_LENGTH = {marker: length for length, marker in FIXEXT.items()}
EXT_LENGTH = ((0xFF, 0xC7, ">B"), (0xFFFF, 0xC8, ">H"), (0xFFFFFFFF, 0xC9, ">I"))


def loaded_numpy():
    """NumPy if this process imported it already: no value is an array otherwise, and importing costs."""
    return sys.modules.get("numpy")


def is_array(value: Any) -> bool:
    numpy = loaded_numpy()
    return numpy is not None and isinstance(value, numpy.ndarray | numpy.generic)


# ---- encoding ---------------------------------------------------------------------------------------------
def _layout(array) -> tuple[Any, bool]:
    """The array's bytes as a flat uint8 view, and whether in Fortran order (a strided one copied first)."""
    numpy = loaded_numpy()
    fortran = array.flags.f_contiguous and not array.flags.c_contiguous
    if not (array.flags.c_contiguous or fortran):
        array = numpy.ascontiguousarray(array)
    return array.reshape(-1, order="F" if fortran else "C").view(numpy.uint8), fortran


def _describe(dtype) -> Any:
    """The dtype as plain data that `descr_to_dtype` rebuilds exactly; TypeError for one it cannot carry."""
    from numpy.lib.format import descr_to_dtype

    if dtype.hasobject:
        raise TypeError("msgpack-ext cannot encode an ndarray of object dtype: its items are Python objects "
                        "(send .tolist(), or use pickle)")
    descr = dtype.descr if dtype.names is not None else dtype.str
    try:
        same = descr_to_dtype(descr) == dtype
    except (TypeError, ValueError):
        same = False
    if not same:  # metadata, a dtype of NumPy 2's new kinds (StringDType) ...
        raise TypeError(f"msgpack-ext cannot encode an ndarray of dtype {dtype}: it has no plain description")
    return descr


def payload_parts(value: Any, pack: Callable[[Any], bytes]) -> list:
    """An array's or NumPy scalar's payload as buffers to join, its memory uncopied; `pack`: msgpack-ext's."""
    numpy = loaded_numpy()
    if isinstance(value, numpy.ma.MaskedArray):
        raise TypeError("msgpack-ext cannot encode a masked array: its mask would be lost")
    array = numpy.asarray(value)  # a scalar becomes a 0-d array; an ndarray subclass its plain ndarray
    descr = _describe(array.dtype)
    raw, fortran = _layout(array)
    header = pack([descr, None if isinstance(value, numpy.generic) else list(array.shape), fortran])
    return [HEADER_LENGTH.pack(len(header)), header, raw]


def ext_head(code: int, length: int) -> bytes:
    """What msgpack writes before an extension payload of `length` bytes, for `encode_alone` to join."""
    if length in FIXEXT:
        return bytes((FIXEXT[length], code))
    for most, marker, size in EXT_LENGTH:
        if length <= most:
            return bytes((marker,)) + struct.pack(size, length) + bytes((code,))
    raise ValueError(f"an extension payload of {length:,} bytes exceeds msgpack's 4 GiB")


def encode_alone(value: Any, pack: Callable[[Any], bytes]) -> bytes:
    """A message that is one array: msgpack's framing and the payload joined once, not copied by msgpack."""
    parts = payload_parts(value, pack)
    return b"".join([ext_head(NDARRAY, sum(len(part) for part in parts)), *parts])  # each part a flat buffer


# ---- decoding ---------------------------------------------------------------------------------------------
def span_alone(frame) -> tuple[int, int] | None:
    """Where the payload lies if `frame` is one ndarray extension and nothing else: (start, length)."""
    if not frame:
        return None
    marker, start, length = frame[0], 0, -1
    if marker in FIXED_LENGTH:
        start, length = 2, FIXED_LENGTH[marker]
    for _, extended, size in EXT_LENGTH:
        if marker == extended and len(frame) >= 2 + struct.calcsize(size):
            start, (length,) = 2 + struct.calcsize(size), struct.unpack_from(size, frame, 1)
    if not start or frame[start - 1] != NDARRAY or start + length != len(frame):
        return None
    return start, length


def _shape(shape: Any) -> tuple[int, ...] | None:
    if shape is None:
        return None
    if not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS:
        raise ValueError(f"the shape must be an array of at most {MAX_DIMENSIONS} sizes")
    if not all(type(size) is int and size >= 0 for size in shape):
        raise ValueError("every size of the shape must be an integer of 0 or more")
    return tuple(shape)


def _numpy():
    """NumPy, imported if need be; a ValueError when it is not installed."""
    try:
        import numpy
    except ImportError:
        raise ValueError("an ndarray needs NumPy, which is not installed here") from None
    return numpy


def _header(view, unpack: Callable[[Any], Any]):
    """The payload's dtype, shape (None for a scalar), whether in Fortran order, and where its bytes begin."""
    from numpy.lib.format import descr_to_dtype

    if len(view) < HEADER_LENGTH.size:
        raise ValueError("no header length")
    (length,) = HEADER_LENGTH.unpack_from(view)
    body = HEADER_LENGTH.size + length
    if body > len(view):
        raise ValueError(f"a header of {length:,} bytes in a payload of {len(view):,}")
    fields = unpack(view[HEADER_LENGTH.size:body])
    if not isinstance(fields, list) or len(fields) != 3 or type(fields[2]) is not bool:
        raise ValueError("expected a header [dtype, shape, fortran]")
    descr, shape, fortran = fields[0], _shape(fields[1]), fields[2]
    if not isinstance(descr, str | list):
        raise ValueError("the dtype must be a string or a list of fields")
    try:
        dtype = descr_to_dtype(descr)
    except Exception as error:  # whatever numpy.dtype makes of a malformed description
        raise ValueError(f"not a dtype: {str(error) or type(error).__name__}") from None
    if dtype.hasobject:
        raise ValueError("an ndarray of object dtype is refused: its items would be Python objects")
    return dtype, shape, fortran, body


def restore(payload, unpack: Callable[[Any], Any], max_items: int):
    """The array (read-only, over `payload` itself: no copy) or NumPy scalar of a payload. `unpack` is
    msgpack-ext's unpacker, one extension level down; `max_items` bounds an array of zero-byte items."""
    numpy = _numpy()
    view = memoryview(payload).cast("B")
    dtype, shape, fortran, body = _header(view, unpack)
    count = 1 if shape is None else math.prod(shape)
    if count * dtype.itemsize != len(view) - body:
        raise ValueError(f"{len(view) - body:,} bytes of data for {count:,} items of {dtype.itemsize} bytes")
    if dtype.itemsize:
        flat = numpy.frombuffer(view, dtype=dtype, count=count, offset=body)
    elif count <= max_items:
        flat = numpy.zeros(count, dtype=dtype)
    else:
        raise ValueError(f"{count:,} items of no size exceed the limit of {max_items:,}")
    flat.flags.writeable = False  # read-only whatever buffer it came in: it is the message's memory
    if shape is None:
        return flat[0]
    return flat.reshape(shape, order="F" if fortran else "C")
