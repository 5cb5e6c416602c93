"""Local sockets (`--local`, and the tandem commands' ipc:/// and unix:/ addresses): both variants run verified
over them in processes, threads and asyncio; their socket files live in a private folder (mode 0700) that is
gone however the run ends (normally, Ctrl-C, SIGTERM, a role killed); a stale socket file is replaced, a live
one, a symbolic link or another file refused; a bad address gets one sentence."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile

import psutil
import pytest
from conftest import reqrep, role_process, start_reqrep, wait_for_line

from shared.cli.commands import TRANSPORTS
from shared.core.config import CONCURRENCY, RunConfig
from shared.core.local import SUN_PATH_BYTES
from shared.core.run import run

pytestmark = pytest.mark.timeout(90)
KEY = {"REQREP_AUTHKEY": "a-key-for-the-local-tests"}
SCHEME = {"zmq": "ipc://", "native": "unix:"}
FLAG = {"zmq": "--front", "native": "--address"}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temporary folder of the test's own for the runs' private folders, in this process (tempfile) and in
    the commands it starts (TMPDIR)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def environment(folder) -> dict:
    return {"TMPDIR": str(folder), **KEY}


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_a_local_run_is_verified_over_local_sockets_and_leaves_nothing(transport, concurrency, private_tmp):
    chosen = TRANSPORTS[transport]
    config = RunConfig(transport=chosen, requests=400, requesters=2, responders=2, timeout=5.0,
                       concurrency=concurrency, local=True)
    with chosen.loopback(config) as local:
        (folder,) = private_tmp.iterdir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        in_one_process = transport == "zmq" and concurrency != "processes"  # inproc: no file at all
        expected = "inproc://" if in_one_process else SCHEME[transport] + str(folder)
        assert local.address.startswith(expected)
        result = run(local)
        assert (result.ok, result.failed, result.errors) == (400, 0, [])
    assert list(private_tmp.iterdir()) == []


def test_compare_local_names_its_sockets_and_leaves_nothing(tmp_path):
    done = reqrep("compare", "--local", "--requests", "600", "--rounds", "2", "--quiet", "--json",
                  str(tmp_path / "compare.json"), env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    variants = json.loads((tmp_path / "compare.json").read_text())["runs"]
    assert {each["described"]["sockets"] for each in variants} == {"ipc", "unix"}
    assert [path.name for path in tmp_path.iterdir()] == ["compare.json"]


def flowing(transport: str, folder, *arguments: str):
    """A local run started with --verbose, returned once it says its requests are flowing, with its private
    folder, which holds its socket files by then."""
    started = start_reqrep("--verbose", "run", transport, "--local", "--requests", "5000000", "--requesters", "2",
                           "--responders", "2", *arguments, env=environment(folder))
    wait_for_line(started, "requests flowing", stream="stderr")
    (private,) = folder.iterdir()
    assert any(stat.S_ISSOCK(each.lstat().st_mode) for each in private.iterdir())
    return started


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_a_local_run_leaves_nothing(transport, signum, tmp_path):
    started = flowing(transport, tmp_path)
    children = psutil.Process(started.pid).children(recursive=True)
    started.send_signal(signum)
    assert started.wait(timeout=10) == -signum
    assert "Traceback" not in started.stderr.read()
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
    assert list(tmp_path.iterdir()) == []


def test_a_killed_server_ends_a_local_run_in_failure_and_leaves_nothing(transport, tmp_path):
    started = flowing(transport, tmp_path, "--timeout", "0.5", "--retries", "1")
    server = TRANSPORTS[transport].server_role
    role_process(started, f"reqrep {transport} {server}").send_signal(signal.SIGKILL)
    assert started.wait(timeout=30) in (1, 2)  # requests failed, or the requesters lost their server
    assert "Traceback" not in started.stderr.read()
    assert list(tmp_path.iterdir()) == []


def test_a_run_removes_the_folder_that_a_killed_run_left_and_no_other(transport, tmp_path):
    """A run killed outright (SIGKILL of its own process) leaves its private folder; the next run removes it,
    but not a folder whose maker lives, one where a socket answers (a run in another PID namespace), a
    symbolic link, or a folder not named as reqrep names them."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    orphan = tmp_path / f"reqrep-{ended.pid}-killed"
    orphan.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as stale:  # a socket file that nobody listens on any more
        stale.bind(str(orphan / "front"))
    kept = [tmp_path / f"reqrep-{os.getpid()}-alive", tmp_path / f"reqrep-{ended.pid}-elsewhere",
            tmp_path / "reqrep-notapid"]
    for folder in kept:
        folder.mkdir(mode=0o700)
    (tmp_path / f"reqrep-{ended.pid}-link").symlink_to(kept[0])
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(kept[1] / "front"))
        listening.listen()
        done = reqrep("run", transport, "--local", "--requests", "100", "--requesters", "1", "--responders", "1",
                      "--quiet", env=environment(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [*(folder.name for folder in kept), f"reqrep-{ended.pid}-link"])


def test_a_killed_responder_is_survived_over_local_sockets_and_leaves_nothing(transport, tmp_path):
    done = reqrep("run", transport, "--local", "--fault", "kill", "--requests", "3000", "--timeout", "0.5",
                  "--rounds", "1", "--quiet", env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "killed" in done.stdout
    assert list(tmp_path.iterdir()) == []


# ---- the tandem commands' local addresses --------------------------------------------------------------
def stale_socket(path) -> None:
    """A socket file that nothing listens on any more, as a killed server leaves it."""
    with socket.socket(socket.AF_UNIX) as left:
        left.bind(str(path))


def serve(transport: str, address: str):
    server = start_reqrep(transport, "serve", FLAG[transport], address, "--responders", "2", env=KEY)
    wait_for_line(server, "serving on")
    return server


def test_zmq_serve_on_a_socket_file_meets_its_responders_beside_it_not_over_tcp(tmp_path):
    path = tmp_path / "front"
    server = serve("zmq", f"ipc://{path}")
    try:
        back = tmp_path / "front.responders"
        assert stat.S_ISSOCK(back.lstat().st_mode)
        tree = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        sockets = [getattr(process, "net_connections", process.connections)("inet") for process in tree]
        assert not any(sockets)  # no TCP (nor UDP) socket anywhere: the back is a socket file too
        done = reqrep("zmq", "request", "--front", f"ipc://{path}", "--requests", "200", "--rounds", "1", "--quiet")
        assert done.returncode == 0, done.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == -signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_a_stale_socket_file_is_replaced_and_the_served_file_removed(transport, tmp_path):
    path = tmp_path / "front"
    stale_socket(path)
    address = SCHEME[transport] + str(path)
    server = serve(transport, address)
    try:
        done = reqrep(transport, "request", FLAG[transport], address, "--requests", "200", "--rounds", "1",
                      "--quiet", env=KEY)
        assert done.returncode == 0, done.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == -signal.SIGTERM
    assert not os.path.lexists(path)


def test_a_live_socket_file_is_refused_and_left(transport, tmp_path):
    path = tmp_path / "front"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))
        listening.listen()
        done = reqrep(transport, "serve", FLAG[transport], SCHEME[transport] + str(path), env=KEY)
        assert done.returncode == 2
        assert "already in use" in done.stderr
        with socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))  # still the test's


@pytest.mark.parametrize("command", ["serve", "request"])
def test_a_symbolic_link_is_neither_followed_nor_removed(transport, command, tmp_path):
    target = tmp_path / "target"
    stale_socket(target)
    link = tmp_path / "link"
    link.symlink_to(target)
    done = reqrep(transport, command, FLAG[transport], SCHEME[transport] + str(link), "--timeout", "1", env=KEY)
    assert done.returncode == 2
    assert "symbolic link" in done.stderr and "Traceback" not in done.stderr
    assert link.is_symlink() and stat.S_ISSOCK(target.lstat().st_mode)


def test_a_file_that_is_no_socket_is_refused_and_left(transport, tmp_path):
    kept = tmp_path / "notes.txt"
    kept.write_text("mine")
    done = reqrep(transport, "serve", FLAG[transport], SCHEME[transport] + str(kept), env=KEY)
    assert done.returncode == 2 and "not a socket" in done.stderr
    assert kept.read_text() == "mine"


@pytest.mark.parametrize(("transport", "address", "sentence"), [
    ("zmq", "ipc:///" + "x" * SUN_PATH_BYTES, f"more than the {SUN_PATH_BYTES}"),
    ("native", "unix:/" + "x" * SUN_PATH_BYTES, f"more than the {SUN_PATH_BYTES}"),
    ("zmq", "ipc:///no-such-folder-here/front", "there is no folder /no-such-folder-here"),
    ("native", "unix:/no-such-folder-here/server", "there is no folder /no-such-folder-here"),
    ("zmq", "ipc://relative/front", "must be absolute"),
    ("native", "unix:relative", "must be absolute"),
    ("zmq", "unix:/tmp/front", "unix:/PATH is a native address, zmq's is ipc:///PATH"),
    ("native", "ipc:///tmp/server", "ipc:// is a zmq address, native's is unix:/PATH"),
    ("zmq", "inproc://front", "inproc:// reaches the roles of one process only"),
])
@pytest.mark.parametrize("command", ["serve", "request"])
def test_a_bad_local_address_gets_one_sentence(transport, address, sentence, command):
    done = reqrep(transport, command, FLAG[transport], address, env=KEY)
    assert done.returncode == 2
    assert sentence in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_local_refuses_what_needs_tcp():
    done = reqrep("run", "zmq", "--local", "--delay", "1")
    assert done.returncode == 2
    assert "--delay and --responder-delay relay TCP connections: not with --local" in done.stderr


def test_the_local_bench_pairs_tcp_and_local(tmp_path):
    out = tmp_path / "out"
    done = reqrep("bench", "--preset", "local-tiny", "--out", str(out), "--quiet", timeout=80,
                  env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    paths = results["studies"]["local"]["paths"]
    assert set(paths) == set(TRANSPORTS)
    assert all(figure["throughput_local_over_tcp"]["rounds"] == 2 for figure in paths.values())
    assert "## Loopback TCP against local sockets" in (out / "report.md").read_text()
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_a_temporary_folder_too_long_for_socket_files_gets_one_sentence(tmp_path):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    done = reqrep("run", "native", "--local", "--requests", "10", env={"TMPDIR": str(deep)})
    assert done.returncode == 2
    assert "too long a path for socket files" in done.stderr and "Traceback" not in done.stderr
    assert list(deep.iterdir()) == []
