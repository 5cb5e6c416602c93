"""A round with retries and no fault inflicted stalled: its time is a timeout waited out, not a speed. The
medians and the ratios leave it out (unless every round stalled), the table counts it, stderr says why."""

from __future__ import annotations

import io

from rich.console import Console

from shared.core.records import from_json
from shared.core.results import Round
from shared.report import tables as report
from shared.report.document import compare_document, run_document
from shared.report.summary import headline, ratios

LATENCY = {"p50": 100.0, "p90": 150.0, "p99": 200.0, "p999": 300.0, "max": 400.0}


def a_round(throughput: float, retries: int = 0, fault: str = "", transport: str = "zmq") -> Round:
    return from_json(Round, {
            "transport": transport, "example": "router", "concurrency": "processes", "codec": "msgpack",
            "workload": "echo", "requests": 1000, "requesters": 2, "responders": 2, "window": 1000, "rate": 0.0,
            "answered": 1000, "ok": 1000, "failed": 0, "duplicated": 0, "retries": retries, "seconds": 1.0,
            "cpu_seconds": 1.0, "throughput_rps": throughput, "latency_us": dict(LATENCY),
            "pss_peak_mib_total": 80.0, "rss_peak_mib_total": 90.0, "errors": [], "failures": [],
            "interrupted": False, "fault_inflicted": fault, "roles": []})


def test_retries_with_no_fault_are_a_stall_and_with_one_are_not():
    assert a_round(1000.0).stall == ""
    assert "234 retries with no fault inflicted" in a_round(1984.0, retries=234).stall
    assert a_round(1984.0, retries=3, fault="responder 1 killed at 0.50 s").stall == ""


def test_the_median_leaves_a_stalled_round_out():
    rounds = [a_round(150_000.0), a_round(1_984.0, retries=234), a_round(160_000.0)]
    figures = headline(rounds)
    assert figures.throughput_rps == 155_000.0
    assert figures.spread.throughput_rps == [150_000.0, 160_000.0]
    assert figures.stalled_rounds == 1 and figures.stalls[0].startswith("round 2: 234 retries")
    assert figures.retries == 234  # the counts are of every round


def test_when_every_round_stalled_the_median_is_of_them_all():
    figures = headline([a_round(2_000.0, retries=1), a_round(3_000.0, retries=2)])
    assert figures.throughput_rps == 2_500.0 and figures.stalled_rounds == 2


def test_the_ratios_leave_out_a_pair_with_a_stalled_round():
    zmq = [a_round(150_000.0), a_round(1_988.0, retries=200), a_round(160_000.0)]
    native = [a_round(3_000.0, transport="native") for _ in range(3)]
    throughput = ratios(zmq, native)["throughput_rps"]
    assert throughput.rounds == 2
    assert 30 < throughput.low and throughput.high < 80  # the stalled pair, at 0.66, would stretch it to 0.0x
    document = compare_document([zmq, native])
    assert document.ratios.stalled_rounds == 1


def test_the_table_counts_stalled_rounds_and_stderr_says_why():
    document = run_document([a_round(150_000.0), a_round(1_984.0, retries=234), a_round(160_000.0)])
    out, err = io.StringIO(), io.StringIO()
    report.print_results(Console(file=out, width=200), Console(file=err, width=200), document)
    assert "stalled (retries with no fault)" in out.getvalue()
    assert "1, left out of the medians" in out.getvalue()
    assert "round 2: 234 retries with no fault inflicted" in err.getvalue()
    assert "left out of the medians" in err.getvalue()


def test_the_pyperf_file_leaves_a_stalled_round_out(tmp_path):
    import pyperf

    from shared.report import pyperf_file

    document = run_document([a_round(150_000.0), a_round(1_984.0, retries=234), a_round(160_000.0)])
    path = tmp_path / "run.json"
    pyperf_file.write(document, str(path))
    speed = next(b for b in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
                 if b.get_name().endswith("time per request"))
    assert sorted(speed.get_values()) == [1 / 160_000.0, 1 / 150_000.0]
    assert speed.get_metadata()["reqrep_stalled_rounds"] == 1


def a_result(throughput: float, retries: int = 0):
    from shared.core.results import RunResult

    return RunResult(parameters={"requests": 1000}, answered=1000, ok=1000, failed=0, duplicated=0, retries=retries,
                     seconds=1000 / throughput, latency_us=dict(LATENCY), roles=[], errors=[], failures=[])


def test_the_bench_median_leaves_a_stalled_round_out_and_the_report_lists_it():
    from types import SimpleNamespace

    from shared.bench.engine import Record
    from shared.bench.report import stalled_section
    from shared.bench.study import Point

    point = Point("zmq", "processes", 0, 1000, 2, 2, 60_000)
    record = Record(point, [], results={1: a_result(150_000.0), 2: a_result(1_984.0, 234), 3: a_result(160_000.0)})
    assert record.medians()["throughput_rps"] == 155_000.0
    assert [n for n, result in sorted(record.results.items()) if result.stall] == [2]
    section, = stalled_section(SimpleNamespace(records={point: record}))
    assert section.heading == "Rounds that stalled"
    assert "round 2: 234 retries with no fault inflicted" in section.after[0]
