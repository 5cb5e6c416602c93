"""Numbers a user can trust: rounds that alternate and give medians with their spread, ratios with an honest
interval, the versioned JSON format read back by `reqrep show`, and pyperf files that pyperf's own tools read."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pyperf
import pytest
from conftest import local_config, reqrep
from test_cli import assert_usage_error

from shared import document, rounds
from shared.results import FIGURE_KEYS
from shared.run import run
from shared.summary import headline, order_interval, paired_ratio, rounds_for_significance

pytestmark = pytest.mark.timeout(120)


def test_rounds_split_the_requests_and_alternate_the_variants(transport):
    config = local_config(transport, requests=200, requesters=3)
    plans = rounds.split(config, 3)
    assert [plan.requests for plan in plans] == [67, 67, 66]
    order = []

    def fake_round(plan, number, of):
        order.append((plan.transport.name, plan.codec, number, of))
        return SimpleNamespace(requests=plan.requests, succeeded=True)

    results = rounds.alternate([config, config.with_(codec="msgpack")], 3, fake_round)
    assert [[each.requests for each in variant] for variant in results] == [[67, 67, 66], [67, 67, 66]]
    assert [(codec, number) for _, codec, number, _ in order] == [
        (config.codec, 1), ("msgpack", 1), (config.codec, 2), ("msgpack", 2), (config.codec, 3), ("msgpack", 3)]


def test_a_round_that_loses_requests_ends_the_rounds(transport):
    config = local_config(transport, requests=200, requesters=2)
    ran = []

    def second_fails(plan, number, of):
        ran.append(number)
        return SimpleNamespace(succeeded=number != 2)

    results = rounds.alternate([config, config], 3, second_fails)
    assert ran == [1, 1, 2] and [len(variant) for variant in results] == [2, 1]


def test_the_headline_is_the_median_of_the_rounds_with_its_spread():
    rounds_ = [{"transport": "zmq", "requests": 100, "answered": 100, "ok": 100, "failed": 0, "duplicated": 0,
                "retries": 0, "seconds": seconds, "cpu_seconds": 1.0, "throughput_rps": 100 / seconds,
                "latency_us": {"p50": p50, "p99": 2 * p50}, "pss_peak_mib_total": 60.0 + p50 / 100,
                "rss_peak_mib_total": 300.0} for seconds, p50 in ((1.0, 300.0), (2.0, 100.0), (0.5, 200.0))]
    figures = headline(rounds_)
    assert figures["throughput_rps"] == 100.0 and figures["spread"]["throughput_rps"] == [50.0, 200.0]
    assert figures["latency_us"] == {"p50": 200.0, "p99": 400.0}
    assert figures["spread"]["latency_us"]["p50"] == [100.0, 300.0]
    assert (figures["ok"], figures["seconds"], figures["cpu_seconds"]) == (300, 3.5, 3.0)  # summed, not medians


@pytest.mark.parametrize("count, confidence", [(1, 0.0), (3, 0.75), (5, 0.9375), (6, 0.96875), (10, 0.978515625)])
def test_an_interval_says_how_confident_it_is(count, confidence):
    low, high, said = order_interval(list(range(count)))
    assert said == pytest.approx(confidence)
    assert low <= (count - 1) / 2 <= high
    assert rounds_for_significance() == 6


def test_three_rounds_never_claim_significance_six_can():
    assert not paired_ratio([300.0, 310.0, 305.0], [100.0, 101.0, 99.0]).significant  # 3x, but 75% at most
    six = paired_ratio([300.0, 310.0, 305.0, 290.0, 320.0, 300.0], [100.0, 101.0, 99.0, 100.0, 98.0, 102.0])
    assert six.significant and six.low > 2.8 and six.confidence >= 0.95
    assert not paired_ratio([1.0, 1.1, 0.9, 1.05, 0.95, 1.0], [1.0] * 6).significant  # the interval holds 1


def test_compare_writes_rounds_medians_and_ratios(tmp_path):
    out, pyperf_out = tmp_path / "compare.json", tmp_path / "compare.pyperf.json"
    done = reqrep("compare", "--rounds", "3", "--requests", "600", "--requesters", "2", "--responders", "2",
                  "--json", str(out), "--pyperf", str(pyperf_out))
    assert done.returncode == 0, done.stderr
    saved = json.loads(out.read_text())
    assert saved["format"] == "reqrep-compare/2" and saved["alternated"]
    assert [run["transport"] for run in saved["runs"]] == ["zmq", "native"]
    for variant in saved["runs"]:
        assert variant["format"] == "reqrep-run/2" and variant["requests"] == 600 and variant["ok"] == 600
        assert [each["requests"] for each in variant["rounds"]] == [200, 200, 200]
        assert variant["throughput_rps"] == sorted(each["throughput_rps"] for each in variant["rounds"])[1]
        throughputs = [each["throughput_rps"] for each in variant["rounds"]]
        assert variant["spread"]["throughput_rps"] == [min(throughputs), max(throughputs)]
        assert variant["pss_peak_mib_total"] > 0
        assert variant["pss_peak_mib_by_kind"].keys() >= {"responder", "requester"}
    ratios = saved["ratios"]
    assert (ratios["numerator"], ratios["denominator"], ratios["rounds"]) == ("zmq", "native", 3)
    for name in ("throughput_rps", "latency_p50_us", "latency_p99_us"):
        assert ratios[name].keys() == {"median", "low", "high", "confidence", "significant"}
        assert ratios[name]["low"] <= ratios[name]["median"] <= ratios[name]["high"]
        assert ratios[name]["confidence"] == 0.75 and ratios[name]["significant"] is False
    assert "too few rounds to call any difference significant" in done.stdout
    assert "in 3 rounds, the variants alternating" in done.stdout
    benchmarks = pyperf.BenchmarkSuite.load(str(pyperf_out)).get_benchmarks()
    assert len(benchmarks) == 6 and all(bench.get_nvalue() == 3 for bench in benchmarks)


def test_pyperf_compares_the_files_of_two_runs(tmp_path):
    files = []
    for transport in ("zmq", "native"):
        files.append(tmp_path / f"{transport}.json")
        done = reqrep("run", transport, "--rounds", "2", "--requests", "400", "--requesters", "2", "--responders",
                      "1", "--quiet", "--pyperf", str(files[-1]))
        assert done.returncode == 0, done.stderr
    for command in (["stats", str(files[0])], ["hist", str(files[0])], ["compare_to", *map(str, files)]):
        shown = subprocess.run([sys.executable, "-m", "pyperf", *command], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
    assert "time per request" in shown.stdout  # compare_to found the benchmarks the two files share


def test_show_prints_a_saved_run_again_and_writes_it_back_unchanged(tmp_path):
    out, again = tmp_path / "run.json", tmp_path / "again.json"
    done = reqrep("run", "zmq", "--rounds", "2", "--requests", "300", "--requesters", "3", "--responders", "2",
                  "--json", str(out))
    assert done.returncode == 0, done.stderr
    shown = reqrep("show", str(out), "--json", str(again))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == done.stdout  # the same table, from the file
    assert json.loads(again.read_text()) == json.loads(out.read_text())


def test_show_reads_a_file_of_the_first_format(tmp_path):
    result = run(local_config("zmq", requests=60, requesters=2, responders=1))
    old = {key: value for key, value in result.to_json().items() if not key.startswith("pss")}
    (tmp_path / "old.json").write_text(json.dumps({"runs": [old, old | {"transport": "native"}]}))
    shown = reqrep("show", str(tmp_path / "old.json"))
    assert shown.returncode == 0, shown.stderr
    assert "zmq" in shown.stdout and "native" in shown.stdout
    assert "requests ok" in shown.stdout and "60" in shown.stdout


def test_a_run_in_which_nothing_succeeded_shows_no_throughput_or_latency(tmp_path):
    """Its figures would describe failures: the rows stay empty, and so the table leaves them out."""
    out = tmp_path / "run.json"
    done = reqrep("run", "zmq", "--rounds", "2", "--requests", "40", "--requesters", "2", "--responders", "1",
                  "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "throughput (requests/s)" in done.stdout and "latency p50 (µs)" in done.stdout
    saved = json.loads(out.read_text())
    failed = saved | {"ok": 0, "failed": saved["requests"], "rounds": [one | {"ok": 0, "failed": one["requests"]}
                                                                        for one in saved["rounds"]]}
    (tmp_path / "failed.json").write_text(json.dumps(failed))
    shown = reqrep("show", str(tmp_path / "failed.json"))
    assert "requests ok" in shown.stdout and "failed" in shown.stdout
    assert "throughput" not in shown.stdout and "latency" not in shown.stdout


def test_show_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "bench.json").write_text(json.dumps({"format": "reqrep-bench/1", "points": []}))
    (tmp_path / "text.json").write_text("not json")
    assert_usage_error(reqrep("show", str(tmp_path / "bench.json")), "is a reqrep-bench/1 file")
    assert_usage_error(reqrep("show", str(tmp_path / "text.json")), "is not a JSON file")
    assert_usage_error(reqrep("show", str(tmp_path / "missing.json")), "cannot read")


@pytest.mark.parametrize("arguments, message", [
    (["run", "zmq", "--rounds", "0"], "--rounds must be 1 or more"),
    (["compare", "--requests", "10", "--requesters", "5", "--rounds", "3"], "fewer than --requesters (5)"),
    (["run", "native", "--requests", str(2**63)], "--requests must be at most"),
    (["zmq", "serve", "--rounds", "2"], "--rounds does not apply to `reqrep zmq serve`"),
    (["bench", "--rounds", "0"], "--rounds must be 1 or more"),
])
def test_rounds_that_do_not_fit_are_refused(arguments, message):
    assert_usage_error(reqrep(*arguments, env={"REQREP_AUTHKEY": "test-key"}), message)


def test_a_round_holds_its_figures_and_nothing_else_unknown():
    result = run(local_config("native", requests=40, requesters=2, responders=1))
    assert set(result.figures()) == FIGURE_KEYS  # what separates a round's parameters from its figures
    saved = document.run_document([result.to_json()])
    assert saved["requests"] == 40 and len(saved["rounds"]) == 1 and document.succeeded(saved)
