"""What the request and response loops drive, in both styles of code: each role's loop is written once, as a
coroutine over a channel (or a transport's form of its waits) whose every method is awaited.

An asyncio channel suspends in its awaits; a blocking one makes plain blocking calls inside coroutine methods
that never suspend, so that the same loop runs to its end under `complete`, without an event loop, at the
cost of a coroutine made and finished per call (about 0.1 µs).
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any, Protocol


class Stopped(Exception):
    """The run is being stopped: the channel was handed its end."""


class LockstepChannel(Protocol):
    """One request at a time (shared/core/lockstep.py): `recv` returns its reply, or raises `missed` once
    none came within the run's timeout; `renew` makes a fresh start after a missed reply, or before a request
    sent again after a stray one (a channel that pairs each send with one reply, a REQ socket, needs one)."""

    missed: type[BaseException]

    async def send(self, message: Any) -> None: ...

    async def recv(self) -> Any: ...

    async def renew(self) -> None: ...


class PipelineChannel(Protocol):
    """Requests in flight (shared/core/pipeline.py): `send` one message, `flush` what it may have buffered,
    and `receive` the reply messages that are there, waiting up to `timeout` seconds for the first."""

    async def send(self, message: Any) -> None: ...

    async def flush(self) -> None: ...

    async def receive(self, timeout: float) -> list[Any]: ...


def complete(coroutine: Coroutine) -> Any:
    """Run a coroutine over blocking channels to its end and return its result: it never suspends, so one
    step does it all."""
    try:
        coroutine.send(None)
    except StopIteration as end:
        return end.value
    coroutine.close()
    raise RuntimeError("a loop over blocking channels suspended: an asyncio channel was handed to it")


async def pause(seconds: float) -> None:
    """time.sleep, as the blocking forms' `sleep` (a responder's service time)."""
    time.sleep(seconds)


async def wait(start, seconds: float) -> None:
    """A blocking barrier's wait, as the blocking forms' `wait` (an asyncio barrier's is awaitable)."""
    start.wait(seconds)
