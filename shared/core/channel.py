"""What the request and response loops drive, in both styles of code: each role's loop is written once, as a
coroutine over a channel (or a transport's form of its waits).

An asyncio channel's calls return awaitables, and the loop suspends in them. A blocking channel makes plain
blocking calls, so that the same loop never suspends and runs to its end under `complete`, without an event
loop. Its calls once per message (`send`, `recv`) are plain calls where it says `asynchronous = False`: the
loop then calls them without awaiting (`await recv() if asynchronous else recv()`), since a coroutine made
and finished per call costs about 0.15 µs, a tenth of a lockstep requester's own work per request. Its
other calls, and every call of a channel that does not say so, are coroutine methods that never suspend.
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
    sent again after a stray one (a channel that pairs each send with one reply, a REQ socket, needs one),
    and may replace `send` and `recv`. `asynchronous` (optional, True if absent): see the module's text."""

    missed: type[BaseException]
    asynchronous: bool

    async def send(self, message: Any) -> None: ...

    async def recv(self) -> Any: ...

    async def renew(self) -> None: ...


class PipelineChannel(Protocol):
    """Requests in flight (shared/core/pipeline.py): `send` one message, `flush` what it may have buffered,
    and `receive` the reply messages that are there, waiting up to `timeout` seconds for the first.
    `asynchronous` (optional, True if absent) says whether `send` is awaited; `flush` and `receive`, once
    per batch, always are."""

    asynchronous: bool

    async def send(self, message: Any) -> None: ...

    async def flush(self) -> None: ...

    async def receive(self, timeout: float) -> list[Any]: ...


def awaits(channel: LockstepChannel | PipelineChannel) -> bool:
    """Whether a loop awaits `channel`'s calls once per message (see the module's text)."""
    return getattr(channel, "asynchronous", True)


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
