"""`reqrep bench`: a tiny sweep of real runs writes the documented results.json, a report.md with its tables and
the plots; bad input gets one sentence and exit status 2; Ctrl-C stops everything and keeps what was measured."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
from dataclasses import replace

import psutil
import pytest
from conftest import TRANSPORTS, reqrep, start_reqrep, wait_for_line

from shared.bench import engine as bench
from shared.bench import report as bench_report
from shared.bench import sweep
from shared.cli.commands import main, prepare_out
from shared.core.machine import machine_facts
from shared.core.results import RoleUsage, RunResult

PATHS = [path for transport in TRANSPORTS.values() for path in transport.bench_paths]
NAMES = {path.name for path in PATHS if path.plain or "sweep" in path.studies}  # the paths of the sweep's studies

PNG = b"\x89PNG\r\n\x1a\n"
TABLES = ("## Throughput against payload size", "## Latency against payload size", "## Window 1 against window 16",
          "## Stalls around 16 KiB", "## Memory per role", "| 32 KiB / 1 KiB |")


@pytest.mark.timeout(180)
def test_a_tiny_sweep_writes_results_report_and_plots(tmp_path):
    out = tmp_path / "bench"
    done = reqrep("bench", "--preset", "tiny", "--out", str(out), "--quiet", timeout=110)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no point lost a request" in done.stdout and "Traceback" not in done.stderr

    results = json.loads((out / "results.json").read_text())
    assert results["format"] == bench.FORMAT and not results["interrupted"]
    assert set(results["machine"]) >= {"cores", "memory_gib", "cpu_model", "kernel", "python", "versions"}
    assert set(results["machine"]["versions"]) >= {"pyzmq", "libzmq", "msgpack", "python"}
    assert results["sweep"]["preset"] == "tiny" and set(results["sweep"]["paths"]) >= NAMES
    assert [study["study"] for study in results["sweep"]["studies"]] == ["payload", "window", "stalls", "memory"]
    assert results["studies"]["stalls"]["target"] == 3.0
    points = results["points"]
    planned = sweep.plan(sweep.choose_sweep("tiny", PATHS, None, None))
    assert results["points_planned"] == results["runs"] == len(points) == len(planned)
    for point in points:
        assert set(point) >= {"path", "studies", "concurrency", "payload_bytes", "window", "requesters", "responders",
                              "requests", "options", "succeeded", "errors", "wall_seconds", "median", "rounds"}
        assert point["succeeded"] and len(point["rounds"]) == 1 and point["median"]["throughput_rps"] > 0
        run = point["rounds"][0]
        assert (run["round"], run["ok"], run["failed"]) == (1, point["requests"], 0)
        assert run["payload_bytes"] == point["payload_bytes"] and point["options"] == {}
    assert {p["path"] for p in points} == NAMES
    assert {p["concurrency"] for p in points} == {"processes", "threads", "asyncio"}
    assert {p["window"] for p in points} == {1, 16}

    report = (out / "report.md").read_text()
    for heading in TABLES:
        assert heading in report, heading
    assert "| native-stock | processes |" in report
    again = reqrep("show", str(out / "results.json"), "--out", str(tmp_path / "again"), timeout=60)
    assert again.returncode == 0 and (tmp_path / "again" / "report.md").read_text() == report, again.stderr

    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed" in report
        pytest.skip("matplotlib is not installed (the `plot` extra): no PNGs to check")
    for name in ("throughput.png", "latency.png", "memory.png"):
        assert (out / name).read_bytes().startswith(PNG), name
        assert f"]({name})" in report


@pytest.mark.timeout(10)
@pytest.mark.parametrize("arguments, message", [
    (["--requests", "0"], "--requests must be a positive number"),
    (["--timeout", "-1"], "--timeout must be a positive number of seconds"),
    (["--timeout", "inf"], "--timeout must be a positive number of seconds"),
    (["--out", __file__], "is a file, not a folder"),
    (["--quick", "--preset", "tiny"], "not allowed with argument --quick"),
    (["--preset", "huge"], "invalid choice"),
    (["--requests", "many"], "invalid int value"),
])
def test_bad_arguments_get_one_clear_sentence(arguments, message, capsys):
    try:
        status = main(["bench", *arguments])
    except SystemExit as stop:  # argparse's own errors leave through sys.exit
        status = stop.code
    error = capsys.readouterr().err
    assert status == 2, error
    assert message in error and "Traceback" not in error
    assert len([line for line in error.splitlines() if line.strip()]) == 1, error


@pytest.mark.timeout(60)
def test_ctrl_c_stops_the_sweep_and_keeps_what_was_measured(tmp_path):
    out = tmp_path / "bench"
    command = start_reqrep("-v", "bench", "--preset", "tiny", "--out", str(out), "--quiet")
    wait_for_line(command, "requests flowing", "stderr")  # a point's run is under way (logged with -v)
    roles = psutil.Process(command.pid).children(recursive=True)
    command.send_signal(signal.SIGINT)
    _, errors = command.communicate(timeout=30)
    assert command.returncode == -signal.SIGINT, errors
    assert "interrupted" in errors and "Traceback" not in errors
    _, alive = psutil.wait_procs(roles, timeout=5)
    assert not alive
    results = json.loads((out / "results.json").read_text())
    assert results["interrupted"] and results["runs"] < results["runs_planned"]
    report = (out / "report.md").read_text()
    assert "Interrupted" in report and "was cut short, and counts as not run" in report
    assert "## Points that lost requests" not in report and results["lost"] == 0  # the cut point is not blamed
    assert f"wrote {out / 'results.json'}, {out / 'report.md'}" in errors  # the terminal says where they went


@pytest.mark.timeout(60)
def test_without_matplotlib_the_terminal_says_how_to_get_the_plots(tmp_path):
    """The line names the extra in brackets, which rich would take for markup and drop."""
    hidden = tmp_path / "hidden" / "matplotlib"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("not installed, for this test")\n')
    done = reqrep("bench", "--preset", "soak-tiny", "--out", str(tmp_path / "out"), "--quiet",
                  env={"PYTHONPATH": os.pathsep.join(filter(None, [str(hidden.parent), os.environ.get("PYTHONPATH")]))})
    assert done.returncode == 0, done.stderr
    assert "no plots: matplotlib is not installed (pip install 'reqrep[plot]')" in done.stdout


def made_up_result(point: sweep.Point, p50: float, failed: int = 0) -> RunResult:
    """A result as a run would give it, for the report's arithmetic without the runs."""
    parameters = {"requests": point.requests, "payload_bytes": point.payload_bytes}
    # (role, kind, pid, peak RSS, CPU seconds, peak PSS): the reports show PSS, never the resident sizes
    roles = ([RoleUsage("process (all roles)", "process", 1, 30.0, 1.0, 15.0)] if point.concurrency != "processes" else
             [RoleUsage("parent", "parent", 1, 20.0, 0.1, 10.0),
              RoleUsage("native server", "server", 2, 25.0, 1.0, 12.0),
              RoleUsage("native responder 0", "responder", 3, 24.0, 1.0, 11.0),
              RoleUsage("native requester 0", "requester", 4, 26.0, 1.0, 13.0)])
    return RunResult(parameters=parameters, answered=point.requests, ok=point.requests - failed, failed=failed,
                     duplicated=0, retries=0, seconds=1.0,
                     latency_us={"p50": p50, "p90": p50, "p99": 2 * p50, "p999": 3 * p50, "max": 4 * p50},
                     roles=roles, errors=["requester 0: no reply"] if failed else [], failures=[])


@pytest.mark.timeout(10)
def test_the_report_without_matplotlib_and_with_a_lost_point(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if it were not installed
    session = bench.Bench(replace(sweep.choose_sweep("tiny", PATHS, None, None), rounds=3))
    session.machine, session.date = machine_facts(TRANSPORTS.values()), "2026-11-26T12:00:00+00:00"
    session.transports = bench.facts(TRANSPORTS)
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        large = point.payload_bytes > 16 * 1024 and point.path == "native"
        rounds = (250.0, 240.0, 9000.0) if large else (100.0, 5000.0, 90.0)  # one noisy round in three
        for round_number, p50 in enumerate(rounds, start=1):
            lost = 3 if (point.path, point.concurrency, point.window, p50) == ("zmq", "threads", 1, 90.0) else 0
            record.results[round_number] = made_up_result(point, p50, lost)
    written = bench_report.publish(session, prepare_out(str(tmp_path / "out")))[1]
    assert [path.name for path in written] == ["results.json", "report.md"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "matplotlib is not installed" in report
    assert "lost 3" in report and "## Points that lost requests" in report and "requester 0: no reply" in report
    assert "| native | processes | 100 | 250 | 2.5× (" in report  # the median of the paired rounds, its interval
    assert "3 × p50 at 1 KiB: met (2 judged). Not judged: native-stock (known to stall from 16 KiB on" in report, [
        line for line in report.splitlines() if line.startswith("Target")]
    assert "| native | processes | 10.0 | 12.0 | 11.0 | 13.0 |  | 46.0 |" in report  # PSS, summed
    assert len(session.lost) == 1 and json.loads((tmp_path / "out" / "results.json").read_text())["lost"] == 1


def made_up_bench(out, monkeypatch) -> bench.Bench:
    """The tiny sweep on made-up results (three rounds, one noisy, one point that lost requests), written
    without plots (as if matplotlib were not installed: drawing takes seconds)."""
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    session = bench.Bench(replace(sweep.choose_sweep("tiny", PATHS, None, None), rounds=3))
    session.machine, session.date = machine_facts(TRANSPORTS.values()), "2026-12-04T06:00:00+00:00"
    session.transports = bench.facts(TRANSPORTS)
    for point, studies in session.plan.items():
        record = session.records[point] = bench.Record(point, studies)
        for n, p50 in enumerate((100.0, 5000.0, 90.0 if point.path != "native-stock" else 40_000.0), start=1):
            record.results[n] = made_up_result(point, p50, 3 if (point.concurrency, n) == ("threads", 2) else 0)
            record.results[n].seconds = 1.0 + n / 7
    bench_report.publish(session, prepare_out(str(out)))
    return session


@pytest.mark.timeout(20)
def test_show_renders_the_bench_report_again_from_results_json(tmp_path, capsys, monkeypatch):
    made_up_bench(tmp_path / "bench", monkeypatch)
    written = (tmp_path / "bench" / "report.md").read_text()
    assert main(["show", str(tmp_path / "bench" / "results.json"), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "report.md").read_text() == written  # byte for byte, nothing run
    console = capsys.readouterr().out
    assert "points lost requests" in console and "Target, p50 at 32 KiB" in console
    assert main(["show", str(tmp_path / "bench" / "results.json")]) == 0
    assert capsys.readouterr().out == written  # without --out: report.md on the terminal


@pytest.mark.timeout(20)
def test_show_reads_a_bench_file_of_the_previous_format_through_its_adapter(tmp_path, capsys, monkeypatch):
    made_up_bench(tmp_path / "bench", monkeypatch)
    old = json.loads((tmp_path / "bench" / "results.json").read_text())
    old["format"] = "reqrep-bench/6"  # as version 6 wrote it: no transports' words, fewer path fields
    del old["transports"], old["sweep"]["payload_values"]
    for path in old["sweep"]["paths"].values():
        for key in ("stalls_above", "studies", "pushes", "batches"):
            del path[key]
    for point in old["points"]:
        del point["cut_short"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    upgraded = tmp_path / "upgraded.json"
    assert main(["show", str(tmp_path / "old.json"), "--out", str(tmp_path / "again"), "--json", str(upgraded)]) == 0
    assert (tmp_path / "again" / "report.md").read_text() == (tmp_path / "bench" / "report.md").read_text()
    assert json.loads(upgraded.read_text())["format"] == bench.FORMAT


@pytest.mark.timeout(20)
@pytest.mark.parametrize("extra, message", [
    (["--markdown", "x.md"], "a bench's results.json is shown alone"),
    (["SECOND"], "a bench's results.json is shown alone"),
])
def test_show_refuses_what_does_not_apply_to_a_bench_file(extra, message, tmp_path, capsys, monkeypatch):
    made_up_bench(tmp_path / "bench", monkeypatch)
    saved = str(tmp_path / "bench" / "results.json")
    assert main(["show", saved, *(saved if each == "SECOND" else each for each in extra)]) == 2
    assert message in capsys.readouterr().err


def test_the_plan_shares_points_and_sizes_requests_by_payload():
    full = sweep.choose_sweep("full", PATHS, None, None)
    points = sweep.plan(full)
    assert len(points) == len(set(points))
    shared = [p for p, studies in points.items() if len(studies) > 1]
    assert shared  # the payload study's 1 KiB points serve the window and counts studies too
    sizes = {p.payload_bytes: p.requests for p in points if p.path == "zmq" and p.concurrency == "processes"
             and p.window == 1 and (p.requesters, p.responders) == (2, 2)}
    assert sizes[16] > sizes[32 * 1024] > sizes[1024 * 1024] >= 2 * sweep.MIN_PER_REQUESTER
    stock = [p for p in points if p.path == "native-stock" and p.payload_bytes >= 16 * 1024]
    assert stock and all(p.requests <= full.stall_requests for p in stock)


def test_concurrency_chooses_the_modes_of_the_sweep():
    every = {p.concurrency for p in sweep.plan(sweep.choose_sweep("quick", PATHS, None, None))}
    assert every == {"processes", "threads", "asyncio"}
    chosen = sweep.choose_sweep("quick", PATHS, None, None, ["asyncio"])
    assert {p.concurrency for p in sweep.plan(chosen)} == {"processes", "asyncio"}
    assert chosen.parameters()["concurrency"] == ["processes", "asyncio"]
