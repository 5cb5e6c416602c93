"""`--concurrency asyncio`: responders and requesters as tasks of one event loop, blocking roles as threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
import time
from collections.abc import Callable
from threading import BrokenBarrierError

from shared.core.modes import Report, ThreadRole, Threads, failure

log = logging.getLogger(__name__)


class TaskRole(ThreadRole):
    def __init__(self, name: str, future: concurrent.futures.Future) -> None:
        self.name, self.future = name, future

    def is_alive(self) -> bool:
        return not self.future.done()


class Tasks(Threads):
    """Coroutine functions as tasks of one event loop in a thread of its own; a blocking role as a thread."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="asyncio loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def barrier(self, parties: int) -> LoopBarrier:
        return LoopBarrier(self.loop, parties)

    def start(self, name: str, target: Callable, args: tuple):
        if not inspect.iscoroutinefunction(target):
            return super().start(name, target, args)
        future = asyncio.run_coroutine_threadsafe(_perform_task(name, target, args, self.reports), self.loop)
        return TaskRole(name, future)

    def stop(self, roles: list, deadline: float, stop_threads: Callable[[], None]) -> list[str]:
        """Tasks first (cancelled, they close their sockets before a context ends), threads, then the loop."""
        tasks = [role for role in roles if isinstance(role, TaskRole) and role.is_alive()]
        for role in reversed(tasks):
            role.future.cancel()
        concurrent.futures.wait([role.future for role in tasks], max(0.0, deadline - time.monotonic()))
        stubborn = [role.name for role in tasks if role.is_alive()]
        if tasks:
            ended = f"{len(stubborn)} still running" if stubborn else "all ended"
            log.info("cancelled %d tasks; %s", len(tasks), ended)
        stubborn += super().stop([role for role in roles if not isinstance(role, TaskRole)], deadline, stop_threads)
        self._close(max(0.0, deadline - time.monotonic()))
        return stubborn

    def _close(self, timeout: float) -> None:
        """Stop the loop; a task that ignored its cancellation is abandoned with it (hence a daemon thread)."""
        deadline = time.monotonic() + timeout
        # asyncio.to_thread's idle threads end here: a process of many runs would pile them up.
        ended = asyncio.run_coroutine_threadsafe(self.loop.shutdown_default_executor(), self.loop)
        try:
            ended.result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass  # a thread still busy in it: abandoned with the loop
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self._thread.is_alive():
            self.loop.close()


async def _perform_task(name: str, target: Callable, args: tuple, reports) -> None:
    try:
        report = Report(name, "result", await target(*args))
    except Exception as error:
        report = failure(name, error)
    reports.put(report)


class LoopBarrier:
    """The requesters' starting line for tasks; `abort`, from another thread, breaks it as threading.Barrier's."""

    def __init__(self, loop: asyncio.AbstractEventLoop, parties: int) -> None:
        self._loop = loop
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
