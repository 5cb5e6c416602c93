"""The one-hop shape (`--one-hop`): the server answers every request itself, with no responders of their own,
on both transports, in every concurrency mode, every reply verified; what concerns separate responders is
refused in one sentence; a signal stops it all. Real processes, sockets and managers on loopback."""

from __future__ import annotations

import json
import os
import signal
import time

import msgpack
import psutil
import pytest
import zmq
from conftest import TRANSPORTS, local_config, port_is_free, reqrep, start_reqrep, wait_for_line

from shared.bench.engine import point_config
from shared.bench.study import Sweep
from shared.core.bench_paths import BenchPath
from shared.core.config import CONCURRENCY
from shared.core.run import response_side, run
from zmq_impl.codec import request_id

pytestmark = pytest.mark.timeout(60)


def one_hop(transport: str, **changes):
    return local_config(transport, one_hop=True, responders=None, **changes)


@pytest.mark.parametrize("workload", ["echo", "rpc"])
@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_one_hop_verifies_every_reply(transport, concurrency, workload):
    config = one_hop(transport, requests=301, requesters=3, concurrency=concurrency, workload=workload)
    assert config.responders == 0
    result = run(config)
    assert (result.ok, result.failed, result.duplicated, result.retries) == (301, 0, 0, 0)
    assert result.succeeded and not result.errors


def test_one_hop_starts_the_server_and_the_requesters_only(transport):
    result = run(one_hop(transport, requests=60, requesters=3))
    assert result.ok == 60  # the zmq one is no broker: it is called the server, as the requesters call it
    assert sorted(usage.kind for usage in result.roles) == sorted(["parent", "server", *["requester"] * 3])


@pytest.mark.parametrize("codec", ["msgpack-ext", "raw", "pickle"])
def test_zmq_one_hop_answers_in_every_codec(codec):
    result = run(one_hop("zmq", requests=90, codec=codec))
    assert (result.ok, result.failed) == (90, 0)


def test_native_one_hop_answers_in_msgpack_too():
    result = run(one_hop("native", requests=90, codec="msgpack"))
    assert (result.ok, result.failed) == (90, 0)


@pytest.mark.parametrize("loop", [{"window": 8}, {"rate": 2000.0}])
def test_zmq_one_hop_keeps_requests_in_flight(loop):
    result = run(one_hop("zmq", requests=400, **loop))
    assert (result.ok, result.failed, result.duplicated) == (400, 0, 0)


def test_zmq_one_hop_through_a_shared_connection():
    result = run(one_hop("zmq", requests=200, requesters=4, shared_connection=True))
    assert (result.ok, result.failed) == (200, 0)


def test_the_command_line_runs_and_records_the_one_hop_shape(transport, tmp_path):
    saved = tmp_path / "run.json"
    done = reqrep("run", transport, "--one-hop", "--requests", "300", "--requesters", "3", "--rounds", "1",
                  "--quiet", "--json", str(saved))
    assert done.returncode == 0, done.stderr
    parameters = json.loads(saved.read_text())
    assert (parameters["one_hop"], parameters["responders"], parameters["ok"]) == (True, 0, 300)
    assert "one hop" in " ".join(parameters["described"].values())
    assert "0 responders" in done.stdout


def test_compare_runs_both_variants_in_the_one_hop_shape(tmp_path):
    saved = tmp_path / "compare.json"
    done = reqrep("compare", "--one-hop", "--requests", "200", "--rounds", "1", "--quiet", "--json", str(saved))
    assert done.returncode == 0, done.stderr
    runs = json.loads(saved.read_text())["runs"]
    assert [(each["one_hop"], each["ok"]) for each in runs] == [(True, 200), (True, 200)]


@pytest.mark.parametrize(("transport", "flags", "words"), [
    ("zmq", ["--responders", "3"], "--responders concerns separate responders"),
    ("native", ["--responders", "3"], "--responders concerns separate responders"),
    ("zmq", ["--fault", "kill"], "--fault concerns separate responders"),
    ("native", ["--service-time", "exp:1ms"], "--service-time concerns separate responders"),
    ("zmq", ["--responder-delay", "1"], "--responder-delay concerns separate responders"),
    ("zmq", ["--example", "hello"], "--one-hop is a shape of the router example"),
    ("zmq", ["--broker", "balancing"], "with --one-hop the server answers them itself"),
    ("native", ["--window", "4"], "native --one-hop answers each in the call that sends it"),
    ("native", ["--batch"], "native --one-hop answers each in the call that sends it"),
])
def test_what_concerns_separate_responders_is_refused(transport, flags, words):
    done = reqrep("run", transport, "--one-hop", *flags, "--requests", "10", timeout=30)
    assert done.returncode == 2
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_one_hop_run_stops_on_a_signal(transport, signum):
    run_ = start_reqrep("--verbose", "run", transport, "--one-hop", "--requests", "5000000", "--requesters", "2")
    line = wait_for_line(run_, "ready on", stream="stderr")
    port = int(line.rsplit(":", 1)[1])
    wait_for_line(run_, "requests flowing", stream="stderr")
    children = psutil.Process(run_.pid).children(recursive=True)
    assert len(children) == 3  # the server and two requesters
    run_.send_signal(signum)
    assert run_.wait(timeout=5) == -signum
    assert "Traceback" not in run_.stderr.read()
    _, alive = psutil.wait_procs(children, timeout=1)
    assert not alive
    assert port_is_free(port)


def test_a_server_hung_mid_run_fails_the_requests_within_their_deadline(transport):
    config = one_hop(transport, requests=1_000_000, requesters=1, timeout=0.3, retries=1)
    with response_side(config) as roles:
        server = dict(roles.processes())[config.role(config.server_role)]
        hung: list[float] = []

        def hang_once_flowing(done: int, planned: int) -> None:
            if done and not hung:
                os.kill(server, signal.SIGSTOP)
                hung.append(time.monotonic())

        try:
            result = run(config, local_server=False, progress=hang_once_flowing)
        finally:
            os.kill(server, signal.SIGCONT)
    assert hung and time.monotonic() - hung[0] < 10
    assert 0 < result.ok < config.requests and result.ok + result.failed == config.requests
    assert result.retries == 1 and result.duplicated == 0


def test_the_zmq_one_hop_server_answers_odd_requests_and_goes_on():
    config = one_hop("zmq", requests=50)
    with response_side(config):
        with zmq.Context.instance().socket(zmq.DEALER) as dealer:
            dealer.linger, dealer.rcvtimeo = 0, 5000
            dealer.connect(config.address)
            dealer.send_multipart([b"no delimiter"])  # nowhere to answer: dropped
            dealer.send_multipart([b"", request_id(1) + msgpack.packb("Hello"), b"a second frame"])
            delimiter, reply = dealer.recv_multipart()
            assert reply.startswith(request_id(1)) and msgpack.unpackb(reply[9:])["status"] == 400
            dealer.send_multipart([b"", request_id(2) + msgpack.packb("Hello")])
            assert dealer.recv_multipart() == [b"", request_id(2) + msgpack.packb("Hello - echoed!")]
        result = run(config, local_server=False)
    assert (result.ok, result.failed) == (50, 0)


def test_a_bench_path_takes_the_one_hop_shape(transport):
    path = BenchPath(f"{transport}-one-hop", transport, TRANSPORTS[transport].default_codec, one_hop=True)
    sweep = Sweep("test", "", (), requests=100, timeout=5.0, requesters=2, responders=5, paths=(path,))
    point = sweep.point(path)
    config = point_config(sweep, point, TRANSPORTS)
    assert (point.responders, config.one_hop, config.responders) == (0, True, 0)
    with config.transport.loopback(config) as local:
        assert run(local).ok == point.requests
