"""What a run's payload costs its transport's codec, measured in-process: `reqrep bench` measures it in a point's
own process once its run has ended, so that its ndarray study can split a round trip into the codec's work and
the rest (the sockets, the copies, the waiting)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.core.config import RunConfig

BUDGET = 0.05  # seconds per figure, about: hundreds of calls at 1 KiB, a handful at 8 MiB
LEAST_CALLS = 5


def median_us(call: Callable[[], object], budget: float = BUDGET) -> float:
    """The median time of repeated calls, µs: as many as fit in `budget`, and at least LEAST_CALLS."""
    times: list[int] = []
    deadline = time.perf_counter() + budget
    while len(times) < LEAST_CALLS or time.perf_counter() < deadline:
        began = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - began)
    return round(statistics.median(times) / 1000, 2)


def codec_costs(config: RunConfig) -> dict:
    """For the payload's first value, as it crosses one connection (the transport's payload_codec): the median µs
    of encoding it and of decoding it, and of one copy of its encoded bytes (what a copy of that size costs,
    the unit the rest of a round trip is counted in); its encoded size, and the codec passes of a round trip."""
    codec = config.transport.payload_codec(config)
    value = config.payload.values[0]
    encoded = codec.encode(value)
    return {"encoded_bytes": len(encoded), "passes": config.transport.codec_passes,
            "encode_us": median_us(lambda: codec.encode(value)), "decode_us": median_us(lambda: codec.decode(encoded)),
            "copy_us": median_us(lambda: bytearray(encoded))}
