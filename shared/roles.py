"""Starting and stopping the roles of a run (broker or server, responders, requesters) as processes or
threads. Whoever starts roles owns a `Roles` and stops them in `finally`, on success, error or signal."""

from __future__ import annotations

import ctypes
import inspect
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from setproctitle import setproctitle

from shared.config import IN_ONE_PROCESS, RunConfig
from shared.event_loop import EventLoop, TaskRole, failure

log = logging.getLogger(__name__)
STOP_DEADLINE = 3.0  # seconds a role gets to stop before it is killed
POLL_SECONDS = 0.1
PR_SET_PDEATHSIG = 1  # how often a waiting parent looks at its roles' reports


def notice_level(index: int) -> int:
    """How loudly a role says it waits for, or lost, its peer: the first of its kind speaks for all of them
    (five requesters waiting for one broker is one line), the others only with --verbose."""
    return logging.WARNING if index == 0 else logging.INFO


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt so that `finally` blocks run."""


def raise_terminated(signum, frame):
    raise Terminated()


def _stop_on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; a second must not break cleanup
    raise SystemExit(0)


class RoleFailed(Exception):
    def __init__(self, role: str, message: str) -> None:
        super().__init__(f"{role}: {message}")
        self.role, self.message = role, message


def _perform(name: str, target: Callable, args: tuple, reports) -> None:
    """Run a role and report how it ended: ('result', value) or ('error', one sentence)."""
    try:
        outcome = ("result", target(*args))
    except SystemExit:
        return  # stopped on request
    except Exception as error:
        outcome = failure(name, error)
    reports.put((name, *outcome))


def _stop_with_parent() -> None:
    """Linux: have the kernel send SIGTERM if the parent dies without stopping us (killed by SIGKILL)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's own stop() remains the only way


def _enter_process(name: str, target: Callable, args: tuple, reports, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides when its roles stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    _stop_with_parent()
    if os.getppid() != parent:  # the parent died before the request above took effect
        return
    setproctitle(f"reqrep {name}")
    _perform(name, target, args, reports)


class Roles:
    """The roles this process started. Processes are forked (cheap, and the parent holds no sockets or
    threads of its own when it forks); threads share this process, and `stop_threads` of the transport
    wakes their blocking calls; with asyncio, responders and requesters are tasks on one event loop (see
    shared/event_loop.py) and the broker or server, a blocking call, a thread."""

    def __init__(self, config: RunConfig, stop_threads: Callable[[RunConfig], None]) -> None:
        self.config = config
        self.threaded = config.concurrency in IN_ONE_PROCESS
        self._stop_threads = stop_threads
        self._context = multiprocessing.get_context("fork")
        self._loop = EventLoop() if config.concurrency == "asyncio" else None
        self.reports: Any = queue.Queue() if self.threaded else self._context.Queue()
        self.started: list = []
        self._named: dict = {}  # name -> role: a thousand requesters are looked up often

    # ---- what roles share ---------------------------------------------------------------------------
    def event(self):
        return threading.Event() if self.threaded else self._context.Event()

    def barrier(self, parties: int):
        if self._loop is not None:
            return self._loop.barrier(parties)
        return threading.Barrier(parties) if self.threaded else self._context.Barrier(parties)

    def counters(self, size: int):
        """One integer per requester, written by the requesters and read by the progress bar."""
        return self._context.RawArray("q", size)

    # ---- starting -----------------------------------------------------------------------------------
    def start(self, name: str, target: Callable, *args) -> None:
        """Start a role: a task if `target` is a coroutine function (asyncio), else a thread or a process."""
        if inspect.iscoroutinefunction(target):
            self._add(self._loop.start(name, target, args, self.reports))
            return
        if self.threaded:
            # daemon only so that a wedged role can never keep the interpreter alive; stop() ends them all
            role = threading.Thread(target=_perform, args=(name, target, args, self.reports), name=name,
                                    daemon=True)
        else:
            role = self._context.Process(target=_enter_process, name=name,
                                         args=(name, target, args, self.reports, os.getpid()))
        role.start()
        self._add(role)

    def _add(self, role) -> None:
        self.started.append(role)
        self._named[role.name] = role

    def alive(self, name: str) -> bool:
        role = self._named.get(name)
        return role is not None and role.is_alive()

    def exit_status(self, name: str) -> str:
        for role in self.started:
            if role.name == name and not self.threaded and role.exitcode is not None:
                code = role.exitcode
                return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return "ended"

    def processes(self) -> list[tuple[str, int]]:
        return [(role.name, role.pid) for role in self.started if not self.threaded and role.is_alive()]

    def next_report(self, timeout: float = POLL_SECONDS):
        try:
            return self.reports.get(timeout=timeout)
        except queue.Empty:
            return None

    def next_reports(self, timeout: float = POLL_SECONDS) -> list:
        """The reports waiting, once the first has come within `timeout`: a thousand requesters that end
        together are read in one go."""
        first = self.next_report(timeout)
        if first is None:
            return []
        reports = [first]
        while (report := self.next_report(0)) is not None:
            reports.append(report)
        return reports

    def wait_ready(self, name: str, ready, deadline: float) -> None:
        """Wait until role `name` sets `ready`; its error, or its death, ends the wait with RoleFailed."""
        waited = 0.0
        while not ready.wait(POLL_SECONDS):
            report = self.next_report(0)
            if report is not None and report[1] == "error":
                raise RoleFailed(report[0], report[2])
            if not self.alive(name):
                raise RoleFailed(name, "exited before it was ready")
            waited += POLL_SECONDS
            if waited >= deadline:
                raise RoleFailed(name, f"not ready after {deadline:g} s")

    # ---- stopping -----------------------------------------------------------------------------------
    def stop(self) -> list[str]:
        """Stop every role, newest first; return the names of any that had to be killed or left behind."""
        stubborn: list[str] = []
        deadline = time.monotonic() + STOP_DEADLINE
        if self._loop is not None:  # tasks first: their sockets must be closed before a context ends
            tasks = [role for role in self.started if isinstance(role, TaskRole)]
            stubborn += self._loop.cancel(tasks, STOP_DEADLINE)
            self.started = [role for role in self.started if not isinstance(role, TaskRole)]
        if self.threaded:
            if any(role.is_alive() for role in self.started):
                self._stop_threads(self.config)
            for role in self.started:
                role.join(max(0.0, deadline - time.monotonic()))
                if role.is_alive():
                    stubborn.append(role.name)
        else:
            for role in reversed(self.started):
                if role.is_alive():
                    role.terminate()
            for role in self.started:
                role.join(max(0.0, deadline - time.monotonic()))
                if role.is_alive():
                    role.kill()
                    role.join()  # SIGKILL cannot be refused: this returns at once
                    stubborn.append(role.name)
                role.close()
            self.reports.close()
            self.reports.join_thread()
        if self._loop is not None:
            self._loop.close(max(0.0, deadline - time.monotonic()))
        if stubborn:
            log.warning("had to kill: %s", ", ".join(stubborn))
        return stubborn
