"""`--concurrency asyncio`: one asyncio event loop, in a thread of its own, where every responder and
requester of this process runs as a task. The thread that started the roles goes on watching them (reports,
progress, deadlines) exactly as it does for threads and processes; only blocking C calls (zmq.proxy, the
manager server) keep threads of their own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
import traceback
from collections.abc import Callable
from threading import BrokenBarrierError

from shared.config import UsageError

log = logging.getLogger(__name__)


class EventLoop:
    """The loop and its thread; `close` stops both, once every task is done or cancelled."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="asyncio loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self, name: str, target: Callable, args: tuple, reports) -> TaskRole:
        """Run `target(*args)`, a coroutine function, as a task; its outcome goes to `reports` as a thread's
        does: (name, 'result', value) or (name, 'error', one sentence)."""
        future = asyncio.run_coroutine_threadsafe(_perform(name, target, args, reports), self.loop)
        return TaskRole(name, future)

    def barrier(self, parties: int) -> LoopBarrier:
        return LoopBarrier(self, parties)

    def cancel(self, roles: list[TaskRole], timeout: float) -> list[str]:
        """Cancel the roles' tasks still running, which close their sockets on the way out, and wait for
        them until `timeout`; return the names of those still running then."""
        live = [role for role in roles if role.running()]
        for role in reversed(live):
            role.future.cancel()
        concurrent.futures.wait([role.future for role in live], timeout)
        running = [role.name for role in live if role.running()]
        if live:
            log.info("cancelled %d tasks; %s", len(live), f"{len(running)} still running" if running else "all ended")
        return running

    def close(self, timeout: float) -> None:
        """Stop the loop once the tasks are gone; a task that ignored its cancellation is abandoned with the
        loop (its thread is a daemon only for that case)."""
        deadline = time.monotonic() + timeout
        # The executor that asyncio.to_thread used (the waits for handshakes): its idle threads end here,
        # not when the interpreter does, so that a process that runs many runs does not collect them.
        ended = asyncio.run_coroutine_threadsafe(self.loop.shutdown_default_executor(), self.loop)
        try:
            ended.result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass  # a thread still busy in it: abandoned with the loop
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self._thread.is_alive():
            self.loop.close()


def settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    """Hand a thread's outcome to the task awaiting `future`, unless the task was cancelled meanwhile."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def failure(name: str, error: Exception) -> tuple[str, str]:
    """How a role that raised reports it, thread, process or task alike: a UsageError's own sentence,
    anything else by its type (the traceback with --verbose)."""
    if isinstance(error, UsageError):
        return "error", str(error)
    log.debug("%s failed:\n%s", name, traceback.format_exc())
    return "error", f"{type(error).__name__}: {error}"


async def _perform(name: str, target: Callable, args: tuple, reports) -> None:
    try:
        outcome = ("result", await target(*args))
    except Exception as error:
        outcome = failure(name, error)
    reports.put((name, *outcome))


class TaskRole:
    """A role that is a task, seen from the watching thread as a thread would be."""

    def __init__(self, name: str, future: concurrent.futures.Future) -> None:
        self.name, self.future = name, future

    def running(self) -> bool:
        return not self.future.done()

    is_alive = running


class LoopBarrier:
    """The requesters' starting line, awaited by tasks; the watching thread may break it (`abort`) so that
    tasks still waiting stop with BrokenBarrierError, as with threading.Barrier."""

    def __init__(self, owner: EventLoop, parties: int) -> None:
        self._loop = owner.loop
        self._barrier = asyncio.Barrier(parties)

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._barrier.wait(), timeout)
        except TimeoutError:
            await self._barrier.abort()
            raise BrokenBarrierError() from None
        except asyncio.BrokenBarrierError:
            raise BrokenBarrierError() from None  # the same error as a requester thread's or process's

    def abort(self) -> None:
        asyncio.run_coroutine_threadsafe(self._barrier.abort(), self._loop)
