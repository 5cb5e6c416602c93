"""The one place where roles are started, watched and stopped: a `Supervisor`, held in a `with` block so that
they stop on success, error or signal, and its `watch`, the one loop that waits for them."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from shared.core.event_loop import Tasks
from shared.core.modes import HELD, Mode, Processes, Ready, Report, Threads

log = logging.getLogger(__name__)
MODES: dict[str, type[Mode]] = {"processes": Processes, "threads": Threads, "asyncio": Tasks}
GRACE = 1.0
POLL_SECONDS = 0.1  # how often a watch looks at roles that ended and calls its tick
STOP_DEADLINE = 3.0  # seconds the roles get to stop before they are killed


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt so that `finally` blocks run."""


def raise_terminated(signum, frame):
    raise Terminated()


class RoleFailed(Exception):
    def __init__(self, role: str, message: str) -> None:
        super().__init__(f"{role}: {message}")
        self.role, self.message = role, message


class Supervisor:
    """The roles this process started, in one mode; `stop_threads` wakes those that are threads."""

    def __init__(self, concurrency: str, stop_threads: Callable[[], None] = lambda: None) -> None:
        self.mode = MODES[concurrency]()
        self.in_one_process = self.mode.in_one_process
        self._stop_threads = stop_threads
        self._roles: dict[str, object] = {}  # name -> handle, in the order started
        self._given_up: list[Report] = []
        self._backlog: deque[Report] = deque()
        self.stray: list[Report] = []  # reports of roles no watch was waiting for: a responder's error, say
        self.stopped = False

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- what roles share ---------------------------------------------------------------------------------
    def barrier(self, parties: int):
        return self.mode.barrier(parties)

    def counters(self, size: int):
        return self.mode.counters(size)

    def ready(self, name: str) -> Ready:
        return Ready(name, self.mode.reports)

    # ---- roles --------------------------------------------------------------------------------------------
    def start(self, name: str, target: Callable, *args) -> None:
        """Start a role. SIGINT and SIGTERM are held until it is listed here and a process role has its own
        handlers: one that came between would leave a role that nobody stops."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        try:
            self._roles[name] = self.mode.start(name, target, args)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def names(self) -> list[str]:
        return list(self._roles)

    def alive(self, name: str) -> bool:
        role = self._roles.get(name)
        return role is not None and role.is_alive()

    def exit_status(self, name: str) -> str:
        return self._roles[name].exit_status()

    def signal(self, name: str, signum: int) -> None:
        """Signal role `name`, a process (a fault inflicted on purpose)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._roles[name].pid, signum)

    def processes(self) -> list[tuple[str, int]]:  # (name, pid) of the live processes
        return [(name, role.pid) for name, role in self._roles.items() if role.pid is not None and role.is_alive()]

    # ---- watching -----------------------------------------------------------------------------------------
    def give_up(self, name: str, reason: str) -> None:
        """Stop waiting for `name`: a watch reports it failed, for `reason`."""
        self._given_up.append(Report(name, "error", error=reason))

    def _read(self, timeout: float) -> None:
        """Into the backlog, every report waiting once the first has come within `timeout`."""
        backlog, source = self._backlog, self.mode.reports
        backlog.extend(self._given_up)
        self._given_up.clear()
        try:
            backlog.append(source.get(timeout=0 if backlog else timeout))
            while True:
                backlog.append(source.get_nowait())
        except queue.Empty:
            pass

    def watch(self, names: Iterable[str], tick: Callable[[float], None] | None = None,
              every: float = POLL_SECONDS) -> Iterator[Report]:
        """Yield the reports of the roles `names` until every one has ended, calling `tick(now)` at least every
        `every` seconds; a role gone without a word is reported GRACE seconds later as an 'exit'."""
        waiting = set(names)
        gone_since: dict[str, float] = {}
        next_look = 0.0
        while waiting:
            self._read(every)
            while self._backlog:
                report = self._backlog.popleft()
                if report.role not in waiting:
                    self.stray.append(report)
                    continue
                if report.kind != "ready":
                    waiting.discard(report.role)
                yield report
            now = time.monotonic()
            if now >= next_look:  # a thousand roles are not looked at after every report
                next_look = now + POLL_SECONDS
                for name in [name for name in waiting if not self.alive(name)]:
                    if now - gone_since.setdefault(name, now) >= GRACE:
                        waiting.discard(name)
                        yield Report(name, "exit", error=f"exited unexpectedly ({self.exit_status(name)})")
            if tick is not None and waiting:
                tick(now)

    def wait_ready(self, names: list[str], deadline: float) -> None:
        """Wait until every role of `names` is ready; an error or an end raises RoleFailed."""
        limit = time.monotonic() + deadline
        waiting = set(names)

        def tick(now: float) -> None:
            if now > limit:
                for name in waiting:
                    self.give_up(name, f"not ready after {deadline:g} s")

        for report in self.watch(names, tick):
            if report.kind != "ready":
                raise RoleFailed(report.role, report.error or "ended before it was ready")
            waiting.discard(report.role)
            if not waiting:
                return

    # ---- stopping -----------------------------------------------------------------------------------------
    def stop(self) -> list[str]:
        """Stop every role, newest first; the names of those that had to be killed or left behind."""
        if self.stopped:
            return []
        self.stopped = True
        deadline = time.monotonic() + STOP_DEADLINE
        stubborn = self.mode.stop(list(self._roles.values()), deadline, self._stop_threads)
        if stubborn:
            log.warning("had to kill: %s", ", ".join(stubborn))
        return stubborn
