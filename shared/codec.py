"""What a codec is: a pair of functions between the workload's values and what the transport carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Codec(NamedTuple):
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def identity(value: Any) -> Any:
    return value
