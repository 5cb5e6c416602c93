"""The peers of `reqrep bench --preset peers` (shared/bench/peers/): each installed peer answers a verified
run of 1,000 requests from requester processes on loopback, and stops; a peer whose library does not import
is left out, the report naming the extra; a server that answers wrong fails the run; what a peer cannot do
is refused in one sentence."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from conftest import TRANSPORTS, port_is_free
from test_bench import PATHS, made_up_result

from shared.bench import engine as bench
from shared.bench import peers
from shared.bench.peers.bridge import PeerTransport
from shared.bench.peers.connection import ConnectionPeer
from shared.bench.report import section_lines
from shared.bench.studies.peers import Peers
from shared.bench.study import Measured, Sweep
from shared.bench.sweep import choose_sweep
from shared.core.config import RunConfig
from shared.core.errors import UsageError
from shared.core.run import run

REQUESTS = 1000


def report_of(study, bench) -> str:
    return "\n".join(line for section in study.sections(bench) for line in section_lines(section))


def peer_run(peer, **changes):
    transport = PeerTransport(peer)
    fields = {"requests": REQUESTS, "requesters": 5, "one_hop": True, "timeout": 5.0, **changes}
    with transport.loopback(RunConfig(transport=transport, **fields)) as config:
        return config, run(config)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(peers.PEERS))
def test_each_installed_peer_answers_a_verified_run_and_stops(name, caplog):
    peer = peers.PEERS[name]
    if not peer.installed():
        pytest.skip(f"{peer.module} is not installed: {peers.INSTALL}")
    caplog.set_level(logging.WARNING, logger="shared.core.supervisor")
    config, result = peer_run(peer)
    assert result.succeeded, result.errors + result.failures
    assert (result.ok, result.failed, result.answered, result.retries) == (REQUESTS, 0, REQUESTS, 0)
    assert "had to kill" not in caplog.text  # the server stopped on SIGTERM, as asked
    assert port_is_free(config.transport.host_port(config.address)[1])


class WrongPeer(ConnectionPeer):
    """A server that answers every request whose number ends in 7 with something else."""

    name = "wrong"

    def serve(self, host, port, answer, workers, ready) -> None:
        def wrong(message: bytes) -> bytes:
            return b"Hello, wrong" if message.endswith(b"7") else answer(message)

        super().serve(host, port, wrong, workers, ready)


@pytest.mark.timeout(60)
def test_a_peer_whose_server_answers_wrong_fails_the_run():
    _, result = peer_run(WrongPeer())
    assert not result.succeeded
    assert (result.answered, result.failed, result.ok) == (REQUESTS, REQUESTS // 10, REQUESTS - REQUESTS // 10)
    assert "expected 'Hello, 0 7 - echoed!', got 'Hello, wrong'" in result.failures[0]


def test_a_peer_refuses_what_it_cannot_do():
    transport = PeerTransport(ConnectionPeer())
    for changes, words in (({"concurrency": "threads"}, "every role a process"),
                           ({"workload": "rpc"}, "echo workload in lockstep"),
                           ({"window": 4}, "echo workload in lockstep"),
                           ({"one_hop": False}, "runs in one hop"),
                           ({"responders": 5}, "concerns separate responders")):
        with pytest.raises(UsageError, match=words):
            RunConfig(transport=transport, requests=10, requesters=1, **({"one_hop": True} | changes))


def test_a_peer_whose_library_does_not_import_is_left_out_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "grpc", None)  # `import grpc` now fails, as without the extra
    assert "grpc" in peers.left_out(tuple(peers.PEERS)) and "grpc" not in peers.transports(tuple(peers.PEERS))
    sweep = choose_sweep("peers-tiny", [], None, None)
    assert "grpc" not in {path.name for path in sweep.paths}
    study = sweep.studies[0]
    for text in (study.verdict(Measured(sweep)), report_of(study, Measured(sweep))):
        assert "Left out, not installed: grpc" in text and peers.INSTALL in text


@pytest.mark.timeout(120)
def test_bench_peers_tiny_runs_every_row_verified_and_says_who_is_left_out(tmp_path):
    """The preset for real, with Pyro5 hidden from the bench's process as if its extra were not installed."""
    out = tmp_path / "out"
    hiding = ("import sys; sys.modules['Pyro5'] = None; from shared.cli import main; "
              f"sys.exit(main(['bench', '--preset', 'peers-tiny', '--requests', '150', '--out', {str(out)!r}]))")
    done = subprocess.run([sys.executable, "-c", hiding], capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["lost"] == 0 and all(point["succeeded"] for point in results["points"])
    found = results["studies"]["peers"]
    missing = [name for name, peer in peers.PEERS.items() if name == "pyro5" or not peer.installed()]
    assert found["left_out"] == missing and "pyro5" not in results["sweep"]["paths"]
    installed = [peer.label for name, peer in peers.PEERS.items() if name != "pyro5" and peer.installed()]
    assert set(found["rows"]) >= {*installed, "reqrep zmq, broker", "reqrep native, broker"}
    assert all(row["succeeded"] for row in found["rows"].values())
    assert "Left out, not installed: " in done.stdout and f"(`{peers.INSTALL}` installs every peer)" in done.stdout
    assert "## reqrep among the peers" in (out / "report.md").read_text()


def test_the_peers_table_ranks_the_rows_pairs_them_per_round_and_prices_each_shape():
    """On made-up results: the rows fastest first, each over zmq's broker shape, and one hop over the broker."""
    study = Peers(("connection", "http", "pyro5"))
    own = {name: PeerTransport(peers.PEERS[name]) for name in ("connection", "http")}  # pyro5: left out
    paths = (*(path for path in PATHS if path.plain or path.one_hop),
             *(path for each in own.values() for path in each.bench_paths))
    session = bench.Bench(Sweep("peers-tiny", "", (study,), requests=100, rounds=3, requesters=3, paths=paths))
    session.transports = bench.facts({**TRANSPORTS, **own})
    seconds = {"zmq": 1.0, "zmq-one-hop": 0.5, "native": 2.0, "native-one-hop": 1.0, "connection": 0.25,
               "http": 4.0}
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        for n, noise in ((1, 1.0), (2, 1.1), (3, 0.9)):  # a round touches every row alike: the ratios hold
            record.results[n] = made_up_result(point, 100.0)
            record.results[n].seconds = seconds[point.path] * noise
    summary = study.summary(session)
    assert list(summary["rows"]) == ["multiprocessing.connection, threaded", "reqrep zmq, one hop",
                                     "reqrep zmq, broker", "reqrep native, one hop", "reqrep native, broker",
                                     "stdlib HTTP/1.1 keep-alive"]
    assert summary["rows"]["stdlib HTTP/1.1 keep-alive"]["against_baseline"]["median"] == 0.25
    assert summary["one_hop_over_broker"]["native"]["median"] == 2.0 and summary["left_out"] == ["pyro5"]
    assert summary["fastest"]["ratio"]["median"] == 0.5
    section = report_of(study, session)
    assert "| reqrep zmq, broker | 100 (91–111) | 1 |" in section
    assert "requester → broker process → responder process: 2 hops" in section
    assert "reqrep zmq: one hop gives 2.00× (2.00–2.00) the broker shape's throughput" in section
    assert "Left out, not installed: pyro5" in section
