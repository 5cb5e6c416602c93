"""A third transport (tests/plain_transport.py), registered as a plugin would be, through the core and the
command line: the parity tests' assertions, `run`, `compare` with three columns, and `semantics`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import plain_transport
import pytest
import test_parity as parity
from conftest import local_config, replies_of, wait_for_line

from shared.cli.commands import main
from shared.core import registry
from shared.core.config import CONCURRENCY, LOOPBACK
from shared.core.ports import free_port
from shared.core.run import response_side, run
from shared.core.workload import WORKLOADS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def plain():
    registry.register(plain_transport.TRANSPORT)
    try:
        yield "plain"
    finally:
        registry.unregister("plain")


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_parity_hello(plain, concurrency):
    parity.test_hello_example_answers_its_five_requests(plain, concurrency)


@pytest.mark.parametrize("workload", ["echo", "rpc"])
@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_parity_router(plain, concurrency, workload):
    parity.test_router_example_verifies_every_reply(plain, concurrency, workload)


@pytest.mark.parametrize("concurrency", ["threads", "asyncio"])
def test_parity_one_process(plain, concurrency):
    parity.test_one_process_modes_measure_their_one_process(plain, concurrency)


@pytest.mark.parametrize("workload", ["echo", "rpc"])
def test_same_requests_give_the_expected_replies(plain, workload):
    config = local_config(plain, responders=2)
    with response_side(config):
        assert replies_of(config, parity.sample_requests(workload)) == [
            WORKLOADS[workload].expected(r) for r in parity.sample_requests(workload)]


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_a_window_of_requests_in_flight(plain, concurrency):
    result = run(local_config(plain, requests=400, window=8, concurrency=concurrency, codec="msgpack"))
    assert (result.ok, result.failed, result.duplicated) == (400, 0, 0)


def test_run_on_the_command_line(plain, tmp_path):
    out = tmp_path / "run.json"
    assert main(["run", "plain", "--requests", "300", "--rounds", "1", "--quiet", "--json", str(out)]) == 0
    variant = json.loads(out.read_text())
    assert (variant["transport"], variant["ok"], variant["failed"]) == ("plain", 300, 0)


def test_compare_shows_three_columns(plain, tmp_path, capsys):
    out = tmp_path / "compare.json"
    assert main(["compare", "--requests", "300", "--rounds", "1", "--quiet", "--concurrency", "threads",
                 "--json", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [(run["transport"], run["ok"], run["failed"]) for run in runs] == [
        ("zmq", 300, 0), ("native", 300, 0), ("plain", 300, 0)]
    header = next(line for line in capsys.readouterr().out.splitlines() if "zmq" in line)
    assert header.index("zmq") < header.index("native") < header.index("plain")


def test_semantics_has_a_column_for_it(plain, tmp_path):
    values, out = tmp_path / "values.py", tmp_path / "semantics.json"
    values.write_text("VALUES = {'tuple': (1, 2), 'text': 'héllo'}\n")
    assert main(["semantics", "--quiet", "--values", str(values), "--json", str(out)]) == 0
    text = out.read_text()
    assert "plain" in text and "zmq" in text and "native" in text


PLUGIN = ("import sys, plain_transport; from shared.core import registry; from shared.cli.commands import main; "
          "registry.register(plain_transport.TRANSPORT); sys.exit(main(sys.argv[1:]))")


def plugin(*args: str) -> list[str]:
    """The command line in its own process, with the third transport registered as a plugin's would be."""
    return [sys.executable, "-c", PLUGIN, *args]


def test_tandem_commands_serve_and_request(plain):
    address = f"{LOOPBACK}:{free_port()}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen(plugin("plain", "serve", "--address", address, "--responders", "2"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert f"serving on {address} with 2 responders" in wait_for_line(server, "serving on")
        done = subprocess.run(plugin("plain", "request", "--address", address, "--requests", "200", "--quiet"),
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "200" in next(line for line in done.stdout.splitlines() if "requests ok" in line)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert server.returncode in (0, 143), server.stderr.read()
