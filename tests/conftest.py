"""Fixtures shared by the tests: the transport fixture behind the parity tests, configurations on free
loopback ports, the command line as a subprocess, and a check that no test leaves a process behind."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from shared.cli.commands import TRANSPORTS
from shared.core.config import LOOPBACK, RunConfig
from shared.core.ports import PORTS_VARIABLE, port_range
from zmq_impl.codec import ID_BYTES, number_of


def worker_ports() -> None:
    """Each xdist worker draws its free ports from its own slice of the range, and so do the commands it starts:
    two workers never pick the same port between one's probe and its bind."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and count.isdigit():
        ports = port_range()
        size = len(ports) // int(count)
        low = ports.start + int(worker[2:]) * size
        os.environ[PORTS_VARIABLE] = f"{low}-{low + size - 1}"


worker_ports()


def pytest_xdist_auto_num_workers(config) -> int | None:
    """`-n auto` runs the tests on every core, except the opt-in benchmarks (`pytest -m bench`): they measure
    speed, and one at a time."""
    chosen = config.option.markexpr or ""
    return 0 if "bench" in chosen and "not bench" not in chosen else None


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request) -> str:
    """Every parity test runs once per transport, with the same assertions."""
    return request.param


def local_config(transport: str, *, host: str = LOOPBACK, **changes) -> RunConfig:
    """A small run on free ports of the loopback `host`, with a short timeout so that a failure is quick.
    `changes` may name RunConfig's fields and the transport's settings alike."""
    chosen = TRANSPORTS[transport]
    own = {field.name for field in dataclasses.fields(chosen.settings_type)}
    settings = chosen.settings_type(**{name: changes.pop(name) for name in list(changes) if name in own})
    fields = {"requests": 200, "requesters": 2, "responders": 2, "timeout": 5.0, **changes}
    with chosen.loopback(RunConfig(transport=chosen, settings=settings, **fields), host) as config:
        return config  # made no files that leaving would remove: ports and a key only


def replies_of(config: RunConfig, values: list) -> list:
    """Each value sent to the responders in order: the decoded replies, or for one that failed on the way
    (an error reply, no reply), its Delivery."""
    return [delivery if delivery.failed else delivery.reply for delivery in config.transport.deliver(config, values)]


def split_number(frame: bytes) -> tuple[bytes, bytes]:
    """A zmq frame's request number (its 9 bytes, or b"" when it has none) and its body."""
    if number_of(frame) >= 0:
        return frame[:ID_BYTES], frame[ID_BYTES:]
    return b"", frame


def environment(env: dict | None) -> dict:
    """This process's environment with `env`'s changes: a value of None removes the variable."""
    changed = {**os.environ, **(env or {})}
    return {name: value for name, value in changed.items() if value is not None}


def reqrep(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, in its own process, as a user would run it (no terminal)."""
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=environment(env))


def at_once(*calls: Callable[[], object]) -> list:
    """Independent calls (each starting its own command) made at once, in threads; their results in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def reqrep_together(*commands: tuple[tuple[str, ...], dict | None],
                    timeout: float = 60) -> list[subprocess.CompletedProcess]:
    """Independent command lines (each its arguments and its `env`, as reqrep's) run at once, each within
    `timeout`; their outcomes in order, each with the seconds it took from its start to its end (`seconds`)."""
    def one(command: tuple[tuple[str, ...], dict | None]) -> subprocess.CompletedProcess:
        began = time.monotonic()
        done = reqrep(*command[0], timeout=timeout, env=command[1])
        done.seconds = time.monotonic() - began
        return done

    return at_once(*[lambda command=command: one(command) for command in commands])


def once_per_session(tmp_path_factory, name: str, make) -> Path:
    """The folder `name`, filled by `make(folder)` once per test session: under xdist the first worker to
    come makes it, holding a lock, and the others wait for it and read what it made."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # the session's, shared by its workers
    folder, made = root / name, root / f"{name}.made"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the test's timeout bounds the wait
        if not made.exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            made.touch()
    return folder


def _default_sigint() -> None:
    # A shell may start us with SIGINT ignored (a background job); Python then never turns it into
    # KeyboardInterrupt, and the Ctrl-C tests would test nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_reqrep(*args: str, env: dict | None = None) -> subprocess.Popen:
    """The command line in the background, for the tests that signal it while it serves or runs."""
    return subprocess.Popen([sys.executable, "-m", "shared.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment(env),
                            preexec_fn=_default_sigint)


def wait_for_line(process: subprocess.Popen, text: str, stream: str = "stdout") -> str:
    """Read the process's output until a line contains `text` (the test's own timeout bounds the wait)."""
    for line in getattr(process, stream):
        if text in line:
            return line
    raise AssertionError(f"exited without printing {text!r}: {process.stderr.read()}")


def role_process(parent, title: str) -> psutil.Process:
    """The process of a role that `parent` started, by its title ('reqrep zmq responder 1')."""
    for child in psutil.Process(parent.pid).children(recursive=True):
        try:
            if child.cmdline()[:1] == [title]:  # setproctitle blanks the other arguments
                return child
        except psutil.Error:
            continue
    raise AssertionError(f"no process titled {title!r}")


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """A test that leaves a child process running is a bug, whatever it asserted."""
    yield
    me = psutil.Process()
    children = me.children(recursive=True)
    _, alive = psutil.wait_procs(children, timeout=5)
    for process in alive:
        process.kill()
    assert not alive, f"processes left behind: {[p.pid for p in alive]}"
