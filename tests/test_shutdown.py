"""Clean shutdown: on Ctrl-C or SIGTERM every process a command started has exited within 5 seconds,
its ports are free, and running it again at once works. A command stopped by a signal ends by it: its
parent sees -2 or -15 (a shell, 130 or 143), whichever command it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from conftest import port_is_free, start_reqrep, wait_for_line

from shared.core.config import CONCURRENCY
from shared.core.ports import free_port

pytestmark = pytest.mark.timeout(60)
KEY = {"REQREP_AUTHKEY": "test-key"}


def serve(transport: str, port: int, concurrency: str):
    address = f"tcp://127.0.0.1:{port}" if transport == "zmq" else f"127.0.0.1:{port}"
    flag = "--front" if transport == "zmq" else "--address"
    server = start_reqrep(transport, "serve", flag, address, "--responders", "3", "--concurrency", concurrency,
                          env=KEY)
    wait_for_line(server, "serving on")
    return server


def wait_exit(process, seconds: float) -> int:
    began = time.monotonic()
    code = process.wait(timeout=seconds)
    assert time.monotonic() - began < seconds
    return code


@pytest.mark.parametrize("concurrency", CONCURRENCY)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_everything_on_a_signal(transport, signum, concurrency):
    port = free_port()
    server = serve(transport, port, concurrency)
    children = psutil.Process(server.pid).children(recursive=True)
    expected = 4 if concurrency == "processes" else 0  # broker or server, and three responders (or threads, tasks)
    assert len(children) == expected
    server.send_signal(signum)
    assert wait_exit(server, 5) == -signum
    assert "Traceback" not in server.stderr.read()
    _, alive = psutil.wait_procs(children, timeout=1)
    assert not alive
    assert port_is_free(port)
    again = serve(transport, port, concurrency)  # at once, on the same port
    again.send_signal(signal.SIGTERM)
    assert wait_exit(again, 5) == -signal.SIGTERM


def flowing(*arguments: str):
    """A run started with --verbose, returned once it says its requests are flowing."""
    run = start_reqrep("--verbose", *arguments)
    wait_for_line(run, "requests flowing", stream="stderr")
    return run


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_under_load_stops_on_a_signal(transport, signum):
    run = flowing("run", transport, "--requests", "5000000", "--requesters", "3", "--responders", "2")
    children = psutil.Process(run.pid).children(recursive=True)
    assert len(children) == 6  # broker or server, two responders, three requesters
    run.send_signal(signum)
    assert wait_exit(run, 5) == -signum
    assert "Traceback" not in run.stderr.read()
    _, alive = psutil.wait_procs(children, timeout=1)
    assert not alive


def test_threads_run_stops_on_ctrl_c(transport):
    run = flowing("run", transport, "--requests", "5000000", "--concurrency", "threads")
    run.send_signal(signal.SIGINT)
    assert wait_exit(run, 5) == -signal.SIGINT
    assert "Traceback" not in run.stderr.read()


@pytest.mark.parametrize("concurrency", ["threads", "asyncio"])
def test_ctrl_c_on_the_request_side_leaves_the_server_serving(transport, concurrency):
    """Requesters in one process stop on Ctrl-C by waking their own blocked calls; the server they used is
    not theirs to stop, and serves the next requester."""
    port = free_port()
    server = serve(transport, port, "processes")
    try:
        flag = "--front" if transport == "zmq" else "--address"
        address = f"tcp://127.0.0.1:{port}" if transport == "zmq" else f"127.0.0.1:{port}"
        requests = start_reqrep("--verbose", transport, "request", flag, address, "--requests", "5000000",
                                "--requesters", "4", "--concurrency", concurrency, env=KEY)
        wait_for_line(requests, "requests flowing", stream="stderr")
        requests.send_signal(signal.SIGINT)
        assert wait_exit(requests, 5) == -signal.SIGINT
        assert "Traceback" not in requests.stderr.read()
        assert server.poll() is None
        again = start_reqrep(transport, "request", flag, address, "--requests", "200", "--rounds", "1", "--quiet",
                             env=KEY)
        assert again.wait(timeout=30) == 0, again.stderr.read()
    finally:
        server.send_signal(signal.SIGTERM)
        assert wait_exit(server, 5) == -signal.SIGTERM


def test_ctrl_c_during_compare_shows_the_variant_that_finished():
    """zmq runs first and finishes; Ctrl-C while native runs: zmq's table is printed, native is not, and
    the command ends as interrupted."""
    compare = start_reqrep("-v", "compare", "--requests", "3000", "--native-codec", "pickle", "--requesters", "2",
                           "--responders", "2")
    wait_for_line(compare, "requests flowing", "stderr")  # zmq
    wait_for_line(compare, "requests flowing", "stderr")  # then native ...
    compare.send_signal(signal.SIGINT)
    output, errors = compare.communicate(timeout=30)
    assert compare.returncode == -signal.SIGINT, errors
    assert "interrupted" in errors and "Traceback" not in errors
    assert "requests ok" in output and "zmq" in output and "native" not in output.split("requests ok")[0]


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a non-interactive shell does for a `&` job


def test_a_background_server_says_that_sigterm_stops_it(transport):
    """Started as a script's `&` job is, with SIGINT ignored (Python keeps it so): Ctrl-C cannot stop it,
    and the announcement says what does; SIGTERM then stops it."""
    address = f"tcp://127.0.0.1:{free_port()}" if transport == "zmq" else f"127.0.0.1:{free_port()}"
    flag = "--front" if transport == "zmq" else "--address"
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", transport, "serve", flag, address,
                               "--responders", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **KEY}, preexec_fn=ignore_sigint)
    try:
        line = wait_for_line(server, "serving on")
        assert f"SIGINT is ignored here (a background job): stop it with SIGTERM, kill {server.pid}" in line
    finally:
        server.send_signal(signal.SIGTERM)
        assert wait_exit(server, 5) == -signal.SIGTERM
        server.stdout.close()
        server.stderr.close()


def address_of(transport: str, port: int) -> tuple[str, str]:
    return ("--front", f"tcp://127.0.0.1:{port}") if transport == "zmq" else ("--address", f"127.0.0.1:{port}")


def test_every_long_running_command_ends_by_sigterm():
    """SIGTERM to each command that runs until stopped or for long: it ends by the signal (as the README's
    143 says), with no traceback and no process left, whichever command it is. The commands start, and are
    stopped, in waves: the serving side, then the request side (stopped first: its servers are still there)."""
    zmq_front, zmq_back, native_port = free_port(), free_port(), free_port()
    back = f"tcp://127.0.0.1:{zmq_back}"
    started = []

    def start(*wave: tuple[str, str, tuple[str, ...]]) -> list:
        commands = [start_reqrep(*arguments, env=KEY) for _, _, arguments in wave]
        started.extend(commands)
        for command, (ready, stream, _) in zip(commands, wave, strict=True):
            wait_for_line(command, ready, stream)
        return commands

    def terminate(commands: list) -> None:
        children = [psutil.Process(command.pid).children(recursive=True) for command in commands]
        for command in commands:
            command.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        for command, its_children in zip(commands, children, strict=True):
            code = command.wait(timeout=max(0.0, signalled + 5 - time.monotonic()))
            assert code == -signal.SIGTERM, command.args  # within 5 s of the signal (or the wait raised)
            errors = command.stderr.read()
            assert "Traceback" not in errors and "terminated" in errors, errors
            _, alive = psutil.wait_procs(its_children, timeout=1)
            assert not alive, command.args

    try:
        servers = start(("serving", "stdout", ("zmq", "broker", "--front", f"tcp://127.0.0.1:{zmq_front}",
                                               "--back", back)),
                        ("serving", "stdout", ("zmq", "responders", "--back", back, "--responders", "2")),
                        ("serving on", "stdout", ("native", "serve", *address_of("native", native_port),
                                                  "--responders", "2")))
        requests = start(*[("requests flowing", "stderr", ("-v", transport, "request", *address_of(transport, port),
                                                           "--requests", "5000000", "--requesters", "2"))
                           for transport, port in (("zmq", zmq_front), ("native", native_port))],
                         ("requests flowing", "stderr", ("-v", "run", "zmq", "--requests", "5000000")),
                         ("requests flowing", "stderr", ("-v", "compare", "--requests", "5000000")))
        terminate(requests)
        terminate(servers[1:])  # the responders and the native server, then the zmq broker they talk to
        terminate(servers[:1])
    finally:
        for command in started:
            if command.poll() is None:
                command.kill()
                command.wait(timeout=10)
            command.stdout.close()
            command.stderr.close()
