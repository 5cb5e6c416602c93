"""What travels between the roles: a codec, and the framing that numbers a request and finds it in its reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Codec(NamedTuple):
    """A pair of functions between the workload's values and what the transport carries."""

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


class Framing(NamedTuple):
    """How a transport numbers a request and finds the number in its reply, for the requesters' loops
    (lockstep.py, pipeline.py); C callables where it can, since they run once per request."""

    tag: Callable[[int], Any]  # n -> what marks request n on the wire
    join: Callable[[Any, Any], Any]  # (tag, encoded request) -> the message sent
    expect: Callable[[Any, Any], Any]  # (tag, encoded reply) -> the reply message that answers with it
    answers: Callable[[Any, Any], bool]  # (reply message, tag) -> whether it answers the tagged request
    body: Callable[[Any], Any]  # reply message -> the encoded reply
    number: Callable[[Any], int]  # reply message -> the number of the request it answers (-1: none)
    listens: bool  # a requester may wait for another reply without sending again (not REQ)


def identity(value: Any) -> Any:
    return value
