"""What a run's payload costs its transport's codec, measured in the point's process after its run."""

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
    """For the payload's first value on one connection: the median µs to encode, decode and copy it once
    encoded; its encoded size, and the codec passes of a round trip."""
    codec = config.transport.payload_codec(config)
    value = config.payload.values[0]
    encoded = codec.encode(value)
    return {"encoded_bytes": len(encoded), "passes": config.transport.codec_passes,
            "encode_us": median_us(lambda: codec.encode(value)), "decode_us": median_us(lambda: codec.decode(encoded)),
            "copy_us": median_us(lambda: bytearray(encoded))}
