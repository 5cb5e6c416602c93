"""The command line as a user meets it: bad input gets one clear sentence and exit status 2, never a
traceback; the tandem commands work against each other; the output files hold what the README says."""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from multiprocessing import connection

import pytest
from conftest import reqrep, reqrep_together, start_reqrep, wait_for_line

from shared.cli.commands import TRANSPORTS
from shared.cli.options import Grammar
from shared.core.errors import UsageError
from shared.core.ports import free_port

pytestmark = pytest.mark.timeout(60)
KEY = {"REQREP_AUTHKEY": "test-key"}


def assert_usage_error(done, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 3, done.stderr  # one sentence (argparse adds its usage line)
    for fragment in fragments:
        assert fragment in done.stderr


@pytest.mark.parametrize("arguments, message", [
    (["run", "zmq", "--requests", "0"], "--requests must be a positive number"),
    (["run", "native", "--requests", "-5"], "--requests must be a positive number"),
    (["run", "zmq", "--requesters", "0"], "--requesters must be a positive number"),
    (["run", "native", "--responders", "-1"], "--responders must be a positive number"),
    (["run", "zmq", "--requests", "3", "--requesters", "5"], "cannot exceed --requests"),
    (["compare", "--requests", "2", "--requesters", "4"], "cannot exceed --requests"),
    (["run", "zmq", "--timeout", "0"], "--timeout must be a positive number"),
    (["run", "zmq", "--codec", "json"], "unknown codec 'json'"),
    (["run", "native", "--codec", "msgpack-ext"], "unknown codec 'msgpack-ext' for native"),
    (["run", "zmq", "--codec", "raw", "--workload", "rpc"], "raw codec carries the seed's text frames only"),
    (["run", "zmq", "--example", "hello", "--requesters", "3"], "hello example is one requester"),
    (["run", "zmq", "--requests", "many"], "invalid int value"),
    (["run", "zmq", "--window", "0"], "--window must be 1 or more"),
    (["run", "native", "--rate", "-5"], "--rate must be a positive number"),
    (["run", "zmq", "--codec", "raw", "--window", "4"], "the raw codec has no room for the number"),
    (["run", "native", "--rate", "100", "--window", "4"], "--rate sends on a schedule"),
    (["run", "native", "--batch-size", "4"], "use it with --batch"),
    (["run", "zmq", "--concurrency", "threads", "--curve"], "--curve runs with --concurrency processes"),
    (["zmq", "serve", "--concurrency", "asyncio", "--curve", "keys"], "--curve serves with --concurrency processes"),
    (["run", "zmq", "--payload-bytes", "100", "--workload", "rpc"], "--payload-bytes pads the echo workload"),
    (["run", "zmq", "--payload-bytes", "100000000"], "more than --max-message-bytes (16,777,216)"),
    (["zmq", "request", "--payload-bytes", "2000", "--max-message-bytes", "1024"], "more than --max-message-bytes"),
    (["run", "native", "--retries", "1000"], "--retries must be from 0 to 100"),
    (["zmq", "serve", "--front", "tcp://127.0.0.1"], "malformed address"),
    (["zmq", "request", "--front", "localhost:1337"], "malformed address"),
    (["native", "serve", "--address", "127.0.0.1:99999"], "malformed address"),
    (["native", "request", "--address", "no-port"], "malformed address"),
    (["compare", "--codec", "pickle"], "use --zmq-codec and --native-codec"),
    (["run", "zmq", "--timeout", "0.0005"], "--timeout must be a positive number of seconds, at least 0.001"),
    (["compare", "--codec=msgpack"], "use --zmq-codec and --native-codec"),
])
def test_bad_arguments_get_one_clear_sentence(arguments, message):
    assert_usage_error(reqrep(*arguments, env=KEY), message)


@pytest.mark.parametrize("transport, flag", [("zmq", "--front"), ("native", "--address")])
def test_a_port_in_use_is_named(transport, flag):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        address = f"tcp://127.0.0.1:{port}" if transport == "zmq" else f"127.0.0.1:{port}"
        done = reqrep(transport, "serve", flag, address, "--responders", "1", env=KEY)
    assert_usage_error(done, f"port {port} is already in use")


@pytest.mark.parametrize("ports", ["many", "30000", "40000-30000", "0-10", "60000-70000"])
def test_a_bad_port_range_gets_one_clear_sentence(ports):
    done = reqrep("run", "zmq", "--requests", "10", env={"REQREP_PORTS": ports})
    assert_usage_error(done, "REQREP_PORTS must be two ports LOW-HIGH", repr(ports))


@pytest.mark.parametrize("variant", sorted(TRANSPORTS))
def test_a_run_takes_its_ports_from_the_range_it_is_given(variant):
    low = min(free_port(), 65535 - 20)
    done = reqrep("run", variant, "--requests", "20", "--requesters", "1", "--responders", "1", "--quiet",
                  env={**KEY, "REQREP_PORTS": f"{low}-{low + 19}"})
    assert done.returncode == 0, done.stderr
    with socket.socket() as taken:  # a range whose one port is busy: refused, no port taken from outside it
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        crowded = reqrep("run", variant, "--requests", "20", env={**KEY, "REQREP_PORTS": f"{busy}-{busy}"})
    assert_usage_error(crowded, f"no free port found on 127.0.0.1 in REQREP_PORTS={busy}-{busy}")


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_free_port_never_hands_out_a_port_twice_before_it_is_bound(monkeypatch):
    """One run draws its ports together and binds them later: two draws from a range of two give both."""
    low = next(port for port in iter(free_port, None) if port < 65535 and bindable(port + 1))
    monkeypatch.setattr("shared.core.ports._HANDED_OUT", collections.deque(maxlen=16))  # not `low`, yet
    monkeypatch.setenv("REQREP_PORTS", f"{low}-{low + 1}")
    assert sorted(free_port() for _ in range(2)) == [low, low + 1]
    with pytest.raises(UsageError, match="no free port found"):
        free_port()


@pytest.mark.parametrize("variant", sorted(TRANSPORTS))
def test_a_timeout_too_short_for_replies_blames_the_timeout_not_the_runs_own_server(variant):
    """A run's roles reach the server it started within a second whatever --timeout; what times out are the
    replies, and the summary names --timeout."""
    done = reqrep("run", variant, "--timeout", "0.001", "--retries", "0", "--requests", "2000", "--quiet")
    assert done.returncode in (0, 1), done.stderr  # replies may come within a millisecond, or not
    assert "Traceback" not in done.stderr
    assert "answered at" not in done.stderr and "not a reqrep" not in done.stderr
    assert "requests ok" in done.stdout
    assert done.returncode == 0 or "no reply within 0.001 s (--timeout)" in done.stderr


def test_zmq_request_with_no_server_fails_after_the_timeout():
    address = f"tcp://127.0.0.1:{free_port()}"
    done = reqrep("zmq", "request", "--front", address, "--timeout", "0.5", "--requests", "10")
    assert_usage_error(done, "no zmq broker answered at", address, "within 0.5 s")


def test_a_run_larger_than_the_memory_gets_a_sentence():
    """Its address space bounded to 4 GiB, a run that pads each request to a terabyte: no empty MemoryError."""
    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    done = subprocess.run([sys.executable, "-m", "shared.cli", "run", "native", "--payload-bytes", str(10**12),
                           "--requests", "10", "--requesters", "1", "--responders", "1"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **KEY}, preexec_fn=bounded)
    assert_usage_error(done, "out of memory: the run asks for more than this machine has")


def test_native_request_with_no_server_fails_after_the_timeout():
    address = f"127.0.0.1:{free_port()}"
    done = reqrep("native", "request", "--address", address, "--timeout", "0.5", "--requests", "10", env=KEY)
    assert_usage_error(done, "no native server answered at", address, "within 0.5 s")


def test_native_request_to_a_port_that_never_answers_keeps_its_timeout():
    """A listening socket that accepts and never speaks: the managers' handshake waits on it, within
    --timeout, and the error names the address."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        done = reqrep("native", "request", "--address", address, "--timeout", "0.5", "--requests", "10", env=KEY)
    assert_usage_error(done, address, "did not answer the managers' handshake within 0.5 s")
    assert time.monotonic() - began < 10


class KeyTaker:
    """A peer that completes the managers' handshake with the right key and then says nothing: a server
    stuck after its handshake looks the same to a requester."""

    def __init__(self, key: bytes) -> None:
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.listening.settimeout(0.1)  # the thread looks at `stop` between accepts
        self.address = f"127.0.0.1:{self.listening.getsockname()[1]}"
        self.key, self.held, self.stop = key, [], threading.Event()
        self.thread = threading.Thread(target=self.serve)

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                accepted, _ = self.listening.accept()
            except TimeoutError:
                continue
            accepted.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))  # still blocking
            opened = connection.Connection(accepted.detach())
            self.held.append(opened)
            try:
                connection.deliver_challenge(opened, self.key)
                connection.answer_challenge(opened, self.key)
            except (OSError, EOFError, connection.AuthenticationError):
                pass  # a probe that only looked whether the port is open

    def __enter__(self) -> KeyTaker:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for opened in self.held:
            opened.close()
        self.listening.close()


@pytest.mark.parametrize("role", ["request", "responders"])
def test_native_peer_that_takes_the_key_and_never_answers_keeps_the_timeout(role):
    """After the handshake the managers' first calls (dummy, create) wait for their answer within --timeout
    too, and the error names the address."""
    with KeyTaker(KEY["REQREP_AUTHKEY"].encode()) as silent:
        began = time.monotonic()
        counts = ["--requests", "10", "--requesters", "1"] if role == "request" else ["--responders", "1"]
        # 1 s: the key's exchange, before the calls that are never answered, takes milliseconds
        done = reqrep("native", role, "--address", silent.address, "--timeout", "1", *counts, env=KEY)
        took = time.monotonic() - began
    assert_usage_error(done, silent.address, "did not answer the managers' handshake within 1 s")
    assert took < 10


def test_native_request_to_a_zmq_port_says_it_is_not_a_native_server():
    address = f"tcp://127.0.0.1:{free_port()}"
    server = serving("zmq", address, env=KEY)
    try:
        done = reqrep("native", "request", "--address", address.removeprefix("tcp://"), "--timeout", "3",
                      "--requests", "10", env=KEY)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert_usage_error(done, "is not a reqrep native server")
    assert "AssertionError" not in done.stderr


def test_zmq_request_to_a_native_port_says_it_is_not_a_zmq_broker():
    address = f"127.0.0.1:{free_port()}"
    server = serving("native", address, env=KEY)
    try:
        started = time.monotonic()
        done = reqrep("zmq", "request", "--front", f"tcp://{address}", "--timeout", "5", "--requests", "10")
        took = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert_usage_error(done, f"whatever listens at tcp://{address} hung up before the ZMTP handshake",
                       "is not a zmq broker")
    assert took < 5, "it waited out the timeout instead of telling what it met"


def test_keys_are_not_replaced_without_force_and_secrets_stay_private(tmp_path):
    folder = tmp_path / "keys"
    assert reqrep("zmq", "keys", str(folder)).returncode == 0
    secret = (folder / "server.key_secret").read_bytes()
    assert (folder.stat().st_mode & 0o777, (folder / "server.key_secret").stat().st_mode & 0o777) == (0o700, 0o600)
    assert (folder / "client.key_secret").stat().st_mode & 0o077 == 0
    again = reqrep("zmq", "keys", str(folder))
    assert_usage_error(again, "already holds keys", "--force")
    assert (folder / "server.key_secret").read_bytes() == secret
    assert reqrep("zmq", "keys", str(folder), "--force").returncode == 0
    assert (folder / "server.key_secret").read_bytes() != secret


@pytest.mark.parametrize("served, asked, said", [("raw", "msgpack", "answer no request"),
                                                 ("msgpack", "raw", "were all wrong")])
def test_a_codec_mismatch_stops_the_requester_at_once_and_names_the_codecs(served, asked, said):
    address = f"tcp://127.0.0.1:{free_port()}"
    server = serving("zmq", address, "--codec", served, env=KEY)
    try:
        began = time.monotonic()
        done = reqrep("zmq", "request", "--front", address, "--codec", asked, "--requests", "100000",
                      "--timeout", "10")
        took = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert_usage_error(done, said, f"same codec as this requester (--codec {asked})")
    assert took < 5 and "throughput" not in done.stdout


def test_a_run_that_lost_requests_puts_the_table_on_stdout_and_the_reasons_on_stderr():
    """Without retries, a responder hung mid-run costs requests: exit 1, the table and its data on stdout,
    every reason on stderr (where rich markup must not eat brackets)."""
    done = reqrep("run", "zmq", "--requests", "4000", "--requesters", "4", "--responders", "3", "--retries", "0",
                  "--timeout", "0.5", "--fault", "hang@20%")
    assert done.returncode == 1, done.stderr
    assert "requests ok" in done.stdout and "zmq:" not in done.stdout
    assert "zmq:" in done.stderr and "no reply within 0.5 s" in done.stderr


def test_the_request_side_reports_what_it_knows_and_hello_shows_its_exchanges(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    server = serving("zmq", address, env=KEY)
    try:
        done, quiet, router = reqrep_together(  # three requesters of the server at once
            (("-v", "zmq", "request", "--front", address, "--example", "hello", "--quiet"), None),
            (("zmq", "request", "--front", address, "--example", "hello", "--quiet"), None),
            (("zmq", "request", "--front", address, "--requests", "60", "--requesters", "3", "--quiet"), None))
        assert done.returncode == 0, done.stderr
        title = done.stdout.split("┏")[0]
        assert "1 requester" in title and "responder" not in title  # it knows nothing of the responders
        shown = [line for line in done.stdout.splitlines() if line.startswith("requester 0: sent")]
        assert shown == [f"requester 0: sent 'Hello, 0 {n}', received 'Hello, 0 {n} - echoed!'" for n in range(5)]
        assert "requester 0: sent" not in quiet.stdout  # not on a terminal, not asked: no exchanges printed
        assert router.returncode == 0, router.stderr
        rows = [line.split("│")[1].strip() for line in router.stdout.splitlines() if line.startswith("│")]
        assert "responder" not in router.stdout.split("┏")[0] and "broker" not in rows  # settings of the far side
        assert "requests ok" in rows
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("at", [0, 1, 2, 9])
def test_verbose_is_taken_anywhere_on_the_line(transport, at):
    arguments = ["run", transport, "--requests", "20", "--requesters", "2", "--responders", "1", "--quiet"]
    done = reqrep(*arguments[:at], "-v", *arguments[at:], env=KEY)
    assert done.returncode == 0, done.stderr
    assert "requests flowing" in done.stderr
    assert "did not authenticate" not in done.stderr  # a peer's look at the port is no failed handshake


def test_hello_shows_its_exchanges_on_a_terminal(transport):
    """As the seed's example 1 prints every echo: stdout a terminal, no -v."""
    main, terminal = os.openpty()
    try:
        began = time.monotonic()
        ran = subprocess.Popen([sys.executable, "-m", "shared.cli", "run", transport, "--example", "hello", "--quiet"],
                               stdout=terminal, stderr=subprocess.PIPE, env={**os.environ, **KEY})
        os.close(terminal)
        shown = b""
        while time.monotonic() - began < 30:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the run ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert ran.wait(timeout=30) == 0, ran.stderr.read()
        ran.stderr.close()
    finally:
        os.close(main)
    lines = [line.strip() for line in shown.decode().splitlines() if line.strip().startswith("requester 0: sent")]
    assert lines == [f"requester 0: sent 'Hello, 0 {n}', received 'Hello, 0 {n} - echoed!'" for n in range(5)]


def test_the_table_keeps_the_brackets_of_what_the_user_named(tmp_path):
    """Rich markup must not eat text: a payload file and value named with brackets show as named."""
    (tmp_path / "values[plot].py").write_text('VALUES = {"list[int]": [1, 2, 3]}\n')
    done = reqrep("run", "zmq", "--payload", f"{tmp_path / 'values[plot].py'}:list[int]", "--requests", "20",
                  "--requesters", "2", "--responders", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "values[plot].py:list[int]" in "".join(done.stdout.split())  # the title wraps where it likes


FOREIGN = {"zmq": ("native", "manager"), "native": ("zmq", "zeromq", "broker", "curve")}


def variant_helps(transport: str) -> dict[str, str]:
    """The --help text of `run TRANSPORT`, of `TRANSPORT` and of each of its roles, by command."""
    parser = Grammar(list(TRANSPORTS.values())).build()
    commands = {action.dest: action.choices for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)}["command"]
    helps = {f"run {transport}": next(action.choices[transport] for action in commands["run"]._actions
                                      if isinstance(action, argparse._SubParsersAction)).format_help(),
             transport: commands[transport].format_help()}
    for action in commands[transport]._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps |= {f"{transport} {role}": sub.format_help() for role, sub in action.choices.items()}
    return helps


def test_each_variants_help_speaks_of_that_variant_only(transport):
    helps = variant_helps(transport)
    assert len(helps) >= 5
    for command, text in helps.items():
        said = [word for word in FOREIGN[transport] if word in text.lower()]
        assert not said, f"`reqrep {command} --help` speaks of {said}"


def test_native_needs_a_key():
    done = reqrep("native", "serve", "--address", f"127.0.0.1:{free_port()}", env={"REQREP_AUTHKEY": None})
    assert_usage_error(done, "REQREP_AUTHKEY is not set")


@pytest.mark.parametrize("command, key, problem", [
    ("serve", "", "is empty"), ("responders", "", "is empty"), ("request", "", "is empty"),
    ("serve", " ", "holds nothing but whitespace"), ("request", "\t \n", "holds nothing but whitespace"),
    ("serve", "secret7", "holds a key of 7 bytes, too short to be a secret"),
    ("request", "  secret7 ", "holds a key of 7 bytes"),
])
def test_native_refuses_a_key_too_weak_to_be_a_secret(command, key, problem):
    """An empty REQREP_AUTHKEY is not "not set", and a blank or short one is refused: whoever guesses the key
    owns the server. The same for the contents of --authkey-file (a line end is not part of the key)."""
    # TEST-NET-1: nothing listens there, nor can: a key let through ends the command within its timeout
    done = reqrep("native", command, "--address", "192.0.2.1:5556", "--timeout", "1",
                  env={"REQREP_AUTHKEY": key})
    assert_usage_error(done, f"REQREP_AUTHKEY {problem}", "8 bytes or more")


@pytest.mark.parametrize("contents, problem", [(b"", "is empty"), (b" \n\n", "holds nothing but whitespace"),
                                               (b"secret7\n", "holds a key of 7 bytes")])
def test_native_refuses_a_key_file_too_weak_to_be_a_secret(tmp_path, contents, problem):
    key = tmp_path / "key"
    key.write_bytes(contents)
    done = reqrep("native", "request", "--address", "192.0.2.1:5556", "--timeout", "1", "--authkey-file",
                  str(key), env={"REQREP_AUTHKEY": None})
    assert_usage_error(done, f"the key file {key} {problem}")


def serving(transport: str, address: str, *extra: str, env: dict | None = None):
    flag = "--front" if transport == "zmq" else "--address"
    server = start_reqrep(transport, "serve", flag, address, "--responders", "2", *extra, env=env)
    wait_for_line(server, "serving on")
    return server


def stop(server) -> None:
    server.terminate()
    assert server.wait(timeout=10) == -signal.SIGTERM


def test_native_wrong_key_is_refused_and_the_server_keeps_serving():
    address = f"127.0.0.1:{free_port()}"
    server = serving("native", address, env=KEY)
    try:
        done = reqrep("native", "request", "--address", address, "--requests", "10",
                      env={"REQREP_AUTHKEY": "not-the-key"})
        assert_usage_error(done, "authentication", "failed")
        good = reqrep("native", "request", "--address", address, "--requests", "50", "--quiet", env=KEY)
        assert good.returncode == 0, good.stderr
    finally:
        stop(server)


@pytest.mark.parametrize("transport", ["zmq", "native"])
@pytest.mark.parametrize("example, concurrency", [("hello", "processes"), ("router", "processes"),
                                                  ("hello", "asyncio"), ("router", "asyncio")])
def test_tandem_serve_and_request(transport, example, concurrency, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}" if transport == "zmq" else f"127.0.0.1:{free_port()}"
    flag = "--front" if transport == "zmq" else "--address"
    server = serving(transport, address, env=KEY)
    try:
        counts = [] if example == "hello" else ["--requests", "400", "--requesters", "4", "--rounds", "1"]
        out = tmp_path / "result.json"
        done = reqrep(transport, "request", flag, address, "--example", example, *counts, "--quiet",
                      "--concurrency", concurrency, "--json", str(out), env=KEY)
        assert done.returncode == 0, done.stderr
        result = json.loads(out.read_text())
        assert result["ok"] == (5 if example == "hello" else 400) and result["failed"] == 0
        assert result["concurrency"] == concurrency
        # A second run against the same server at once: nothing of the first is left to confuse it.
        table = tmp_path / "result.md"
        again = reqrep(transport, "request", flag, address, "--example", example, *counts, "--quiet",
                       "--markdown", str(table), env=KEY)
        assert again.returncode == 0, again.stderr
        assert "requests ok" in table.read_text()
    finally:
        stop(server)


def test_run_writes_the_documented_json(tmp_path):
    out = tmp_path / "run.json"
    done = reqrep("run", "zmq", "--requests", "300", "--requesters", "3", "--responders", "2",
                  "--json", str(out))
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    for key in ("transport", "example", "concurrency", "codec", "workload", "requests", "requesters",
                "responders", "timeout", "ok", "failed", "duplicated", "seconds", "throughput_rps",
                "latency_us", "rss_peak_mib_total", "cpu_seconds", "roles"):
        assert key in result, key
    assert set(result["latency_us"]) >= {"p50", "p99", "max"}
    assert (result["transport"], result["ok"], result["failed"], result["duplicated"]) == ("zmq", 300, 0, 0)
    assert "requests ok" in done.stdout  # the summary table, printed without a terminal


def test_compare_prints_one_table_and_writes_json_and_markdown(tmp_path):
    out, md = tmp_path / "compare.json", tmp_path / "compare.md"
    done = reqrep("compare", "--requests", "200", "--requesters", "2", "--responders", "2", "--workload", "rpc",
                  "--zmq-codec", "msgpack-ext", "--json", str(out), "--markdown", str(md))
    assert done.returncode == 0, done.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [r["transport"] for r in runs] == ["zmq", "native"]
    assert [r["codec"] for r in runs] == ["msgpack-ext", "pickle"]  # --zmq-codec chooses the zmq side's
    assert all(r["ok"] == 200 and r["workload"] == "rpc" for r in runs)
    table = md.read_text()
    assert "| zmq | native |" in table and "throughput (requests/s)" in table
    assert "zmq" in done.stdout and "native" in done.stdout
