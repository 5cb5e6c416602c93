"""How roles run, one class per `--concurrency`: a process each (`Processes`), a thread each (`Threads`), or
asyncio tasks (`Tasks`, shared/core/event_loop.py), behind the one interface the supervisor uses."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from setproctitle import setproctitle

from shared.core.errors import OUT_OF_MEMORY, UsageError

HELD = {signal.SIGINT, signal.SIGTERM}  # the stop signals, blocked while a role starts

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Report:
    """What a role says to the supervisor: ready, its result, why it failed, or (said for it) that it ended."""

    role: str
    kind: str  # "ready", "result", "error" or "exit"
    result: Any = None
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.kind in ("error", "exit")


class Ready:
    """Handed to a role that others wait for: `set()` tells the supervisor it can take work now."""

    def __init__(self, name: str, reports) -> None:
        self.name, self.reports = name, reports

    def set(self) -> None:
        self.reports.put(Report(self.name, "ready"))


def failure(role: str, error: BaseException) -> Report:
    """A role's exception as a report: a UsageError's own sentence, else its type (traceback with -v)."""
    if isinstance(error, UsageError):
        return Report(role, "error", error=str(error))
    if isinstance(error, MemoryError):
        return Report(role, "error", error=OUT_OF_MEMORY)
    log.debug("%s failed:\n%s", role, traceback.format_exc())
    return Report(role, "error", error=f"{type(error).__name__}: {error}")


def perform(name: str, target: Callable, args: tuple, reports) -> None:
    try:
        report = Report(name, "result", target(*args))
    except SystemExit:
        return  # stopped on request
    except Exception as error:
        report = failure(name, error)
    reports.put(report)


class Mode(ABC):
    """Where roles run. `start` returns a handle with `name`, `is_alive()`, `pid` (None unless a process)
    and `exit_status()`; `stop` ends every handle, newest first, and returns the names it had to kill."""

    in_one_process = True

    def __init__(self) -> None:
        self.reports: Any = queue.Queue()

    def barrier(self, parties: int):
        return threading.Barrier(parties)

    def counters(self, size: int):  # one per requester, read by the progress bar
        return multiprocessing.get_context("fork").RawArray("q", size)

    @abstractmethod
    def start(self, name: str, target: Callable, args: tuple): ...

    @abstractmethod
    def stop(self, roles: list, deadline: float, stop_threads: Callable[[], None]) -> list[str]: ...


def _stop_on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; a second must not break cleanup
    raise SystemExit(0)


def _enter_process(name: str, target: Callable, args: tuple, reports, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides when its roles stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)  # held by the parent while it forked
    with contextlib.suppress(OSError, AttributeError):  # Linux: SIGTERM if the parent dies without stopping us
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request above took effect
        return
    setproctitle(f"reqrep {name}")
    perform(name, target, args, reports)


class ProcessRole:
    def __init__(self, process: multiprocessing.Process) -> None:
        self.process, self.name, self.pid = process, process.name, process.pid

    def is_alive(self) -> bool:
        return self.process.is_alive()

    def exit_status(self) -> str:
        code = self.process.exitcode
        if code is None:
            return "running"
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


class Processes(Mode):
    """Forked: cheap, and the parent holds no sockets or threads of its own when it forks."""

    in_one_process = False

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("fork")
        self.reports = self._context.Queue()

    def barrier(self, parties: int):
        return self._context.Barrier(parties)

    def start(self, name: str, target: Callable, args: tuple) -> ProcessRole:
        process = self._context.Process(target=_enter_process, name=name,
                                        args=(name, target, args, self.reports, os.getpid()))
        process.start()  # HELD held: the child unblocks them once its handlers are set
        return ProcessRole(process)

    def stop(self, roles: list, deadline: float, stop_threads: Callable[[], None]) -> list[str]:
        stubborn = []
        for role in reversed(roles):
            if role.is_alive():
                role.process.terminate()
        for role in roles:
            role.process.join(max(0.0, deadline - time.monotonic()))
            if role.is_alive():
                role.process.kill()
                role.process.join()  # SIGKILL cannot be refused: this returns at once
                stubborn.append(role.name)
            role.process.close()
        self.reports.close()
        self.reports.join_thread()
        return stubborn


class ThreadRole:
    pid = None

    def __init__(self, thread: threading.Thread) -> None:
        self.thread, self.name = thread, thread.name

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def exit_status(self) -> str:
        return "running" if self.is_alive() else "ended"


class Threads(Mode):
    """Threads of this process; the transport's `stop_threads` wakes their blocking calls."""

    def start(self, name: str, target: Callable, args: tuple) -> ThreadRole:
        # daemon only so that a wedged role can never keep the interpreter alive; stop() ends them all
        thread = threading.Thread(target=perform, args=(name, target, args, self.reports), name=name, daemon=True)
        thread.start()
        return ThreadRole(thread)

    def stop(self, roles: list, deadline: float, stop_threads: Callable[[], None]) -> list[str]:
        if any(role.is_alive() for role in roles):
            stop_threads()
        for role in roles:
            role.thread.join(max(0.0, deadline - time.monotonic()))
        return [role.name for role in roles if role.is_alive()]


def settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    """Hand a thread's outcome to the task awaiting `future`, unless the task was cancelled meanwhile."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

