"""Where an array's time goes on each path, outside the sockets: the encoding, the decoding and the copies one
request makes, per array size, in microseconds (the median of repeated calls, in this process).

    python benchmarks/ndarray_costs.py

zmq with msgpack-ext, one way (requester to responder): encode (the array framed in one join), join the
request's number (bytes + bytes: a copy), receive (libzmq's message into a bytes object: `copy`), decode (in
place: no copy). The reply does the same again, and the requester takes the body after the number (a slice:
a copy). native, one hop of four: ForkingPickler.dumps (protocol 4: tobytes, then into the pickle) and
pickle.loads (the bytes, then the new array); the managers do both on every hop (requester, server, responder,
server, requester). `copy` is one memcpy of the size: the unit the others are counted in.
"""

from __future__ import annotations

import json
import pickle
import statistics
import time
from multiprocessing.reduction import ForkingPickler

import numpy

from zmq_impl.msgpack_ext import decode, encode

SIZES = [2**k for k in range(10, 24, 2)] + [2**23]  # 1 KiB to 8 MiB


def median_us(call, budget: float = 0.2) -> float:
    times, deadline = [], time.perf_counter() + budget
    while time.perf_counter() < deadline or len(times) < 5:
        began = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - began)
    return round(statistics.median(times) / 1000, 1)


def costs(size: int) -> dict:
    array = numpy.arange(size // 8, dtype="float64")
    frame, number = encode(array), b"\xcf" + bytes(8)
    pickled = ForkingPickler.dumps(array)
    return {
        "bytes": size,
        "copy": median_us(lambda: bytearray(frame)),
        "zmq_encode": median_us(lambda: encode(array)),
        "zmq_join_number": median_us(lambda: number + frame),
        "zmq_decode": median_us(lambda: decode(frame)),
        "native_dumps": median_us(lambda: ForkingPickler.dumps(array)),
        "native_loads": median_us(lambda: pickle.loads(pickled)),
        "native_dumps_protocol_5": median_us(lambda: ForkingPickler.dumps(array, protocol=5)),
    }


def main() -> None:
    for size in SIZES:
        print(json.dumps(costs(size)), flush=True)

if __name__ == "__main__":
    main()
