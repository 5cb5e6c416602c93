"""Numbers a user can trust: rounds that alternate and give medians with their spread, ratios with an honest
interval, the versioned JSON format read back by `reqrep show`, and pyperf files that pyperf's own tools read."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pyperf
import pytest
from conftest import at_once, local_config, reqrep, reqrep_together
from test_cli import assert_usage_error

from shared.core import rounds
from shared.core.records import from_json
from shared.core.results import FIGURE_KEYS, Round
from shared.core.run import run
from shared.report import document
from shared.report.statistics import T95, paired_ratio, t95
from shared.report.summary import headline

pytestmark = pytest.mark.timeout(120)
FIGURES = {"throughput_rps": lambda r: r["throughput_rps"], "latency_p50_us": lambda r: r["latency_us"]["p50"],
           "latency_p99_us": lambda r: r["latency_us"]["p99"]}  # what a round's ratio is of


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
    rounds_ = [from_json(Round, {
                "transport": "zmq", "requests": 100, "answered": 100, "ok": 100, "failed": 0, "duplicated": 0,
                "retries": 0, "seconds": seconds, "cpu_seconds": 1.0, "throughput_rps": 100 / seconds,
                "latency_us": {"p50": p50, "p99": 2 * p50}, "pss_peak_mib_total": 60.0 + p50 / 100,
                "rss_peak_mib_total": 300.0}) for seconds, p50 in ((1.0, 300.0), (2.0, 100.0), (0.5, 200.0))]
    figures = headline(rounds_)
    assert figures.throughput_rps == 100.0 and figures.spread.throughput_rps == [50.0, 200.0]
    assert figures.latency_us == {"p50": 200.0, "p99": 400.0}
    assert figures.spread.latency_us["p50"] == [100.0, 300.0]
    assert (figures.ok, figures.seconds, figures.cpu_seconds) == (300, 3.5, 3.0)  # summed, not medians


def test_the_interval_is_the_paired_t_interval_of_the_log_ratios():
    ratio = paired_ratio([2.0, 8.0, 4.0], [1.0, 1.0, 1.0])  # logs ln 2 x (1, 3, 2): mean 2 ln 2, stdev ln 2
    half = 4.303 * math.log(2) / math.sqrt(3)  # t95 with 2 degrees of freedom, as pyperf's table has it
    assert (ratio.rounds, ratio.median, ratio.geomean) == (3, 4.0, pytest.approx(4.0))
    assert ratio.low == pytest.approx(4 * math.exp(-half)) and ratio.high == pytest.approx(4 * math.exp(half))
    assert not ratio.significant  # 0.72 to 22: this spread cannot tell 4x from 1x
    assert ratio.to_json()["confidence"] == 0.95


def test_three_rounds_tell_a_clear_difference_from_noise():
    three_times = paired_ratio([300.0, 310.0, 305.0], [100.0, 101.0, 99.0])
    assert three_times.significant and 2.8 < three_times.low < three_times.median < three_times.high < 3.3
    slower = paired_ratio([100.0, 101.0, 99.0], [300.0, 310.0, 305.0])
    assert slower.significant and slower.high < 0.4  # a ratio below 1 is as significant
    noisy = paired_ratio([9_800.0, 10_400.0, 9_500.0], [10_100.0, 9_700.0, 10_300.0])
    assert not noisy.significant and noisy.low < 1 < noisy.high
    assert not paired_ratio([1.0, 1.1, 0.9, 1.05, 0.95, 1.0], [1.0] * 6).significant  # the interval holds 1


def test_one_round_has_no_interval_and_nothing_measured_no_ratio():
    one = paired_ratio([300.0], [100.0])
    assert (one.rounds, one.median, one.low, one.high, one.significant) == (1, 3.0, None, None, False)
    assert one.to_json()["confidence"] is None
    unmeasured = paired_ratio([0.0, 0.0], [0.0, 0.0])  # latency under --no-latency
    assert (unmeasured.rounds, unmeasured.median, unmeasured.low, unmeasured.significant) == (0, None, None, False)


def test_the_t_table_is_reqreps_own_and_gives_the_known_quantiles():
    assert (t95(1), t95(2), t95(4), t95(30)) == (12.706, 4.303, 2.776, 2.042)
    assert (t95(35), t95(45), t95(70), t95(150), t95(10_000)) == (2.042, 2.021, 2.000, 1.984, 1.960)
    assert all(a > b for a, b in zip(T95, T95[1:], strict=False)), "a quantile falls as the degrees of freedom grow"
    with pytest.raises(ValueError):
        t95(0)
    sourced = subprocess.run([sys.executable, "-c", "import sys, shared.report.statistics, shared.report.summary;"
                              "print('pyperf._utils' in sys.modules)"], capture_output=True, text=True, timeout=60)
    assert sourced.stdout.strip() == "False", "reqrep's statistics must not reach into pyperf's private module"


def test_compare_writes_rounds_medians_and_ratios(tmp_path):
    out, pyperf_out = tmp_path / "compare.json", tmp_path / "compare.pyperf.json"
    done = reqrep("compare", "--rounds", "3", "--requests", "600", "--requesters", "2", "--responders", "2",
                  "--json", str(out), "--pyperf", str(pyperf_out))
    assert done.returncode == 0, done.stderr
    saved = json.loads(out.read_text())
    assert saved["format"] == "reqrep-compare/3" and saved["alternated"]
    assert [run["transport"] for run in saved["runs"]] == ["zmq", "native"]
    for variant in saved["runs"]:
        assert variant["format"] == "reqrep-run/3" and variant["requests"] == 600 and variant["ok"] == 600
        assert [each["requests"] for each in variant["rounds"]] == [200, 200, 200]
        assert variant["throughput_rps"] == sorted(each["throughput_rps"] for each in variant["rounds"])[1]
        throughputs = [each["throughput_rps"] for each in variant["rounds"]]
        assert variant["spread"]["throughput_rps"] == [min(throughputs), max(throughputs)]
        assert variant["pss_peak_mib_total"] > 0
        assert variant["pss_peak_mib_by_kind"].keys() >= {"responder", "requester"}
    ratios = saved["ratios"]
    assert (ratios["numerator"], ratios["denominator"], ratios["rounds"]) == ("zmq", "native", 3)
    for name in ("throughput_rps", "latency_p50_us", "latency_p99_us"):
        ratio = ratios[name]
        assert ratio.keys() == {"rounds", "median", "geomean", "low", "high", "confidence", "significant"}
        assert ratio["rounds"] == 3 and ratio["confidence"] == 0.95
        assert ratio["low"] <= ratio["geomean"] <= ratio["high"] and ratio["low"] <= ratio["median"] <= ratio["high"]
        assert ratio["significant"] == (ratio["low"] > 1 or ratio["high"] < 1)
        zmq, native = ([FIGURES[name](each) for each in run["rounds"]] for run in saved["runs"])
        paired = sorted(a / b for a, b in zip(zmq, native, strict=True))
        assert ratio["median"] == pytest.approx(paired[1], abs=1e-4)  # the median of the per-round ratios
    assert "zmq / native, paired round by round over 3 rounds, median (95% interval): throughput " in done.stdout
    assert "Significant (the 95% interval leaves out 1): " in done.stdout
    assert "in 3 rounds, the variants alternating" in done.stdout
    older, again = tmp_path / "version2.json", tmp_path / "again.json"  # reqrep 0.2's file: its own ratios
    older.write_text(json.dumps(saved | {"format": "reqrep-compare/2", "ratios": {"rounds": 3, "stale": True},
                                         "runs": [run | {"format": "reqrep-run/2"} for run in saved["runs"]]}))
    assert reqrep("show", str(older), "--json", str(again)).returncode == 0
    brought = json.loads(again.read_text())
    assert brought["format"] == "reqrep-compare/3" and brought["ratios"] == ratios  # worked out again
    benchmarks = pyperf.BenchmarkSuite.load(str(pyperf_out)).get_benchmarks()
    assert len(benchmarks) == 6 and all(bench.get_nvalue() == 3 for bench in benchmarks)


def test_a_comparison_of_one_round_says_it_has_no_interval(tmp_path):
    out = tmp_path / "compare.json"
    done = reqrep("compare", "--rounds", "1", "--requests", "100", "--requesters", "1", "--responders", "1",
                  "--quiet", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "zmq / native, one round, median: throughput " in done.stdout
    assert "One round: no interval, so no difference is called significant" in done.stdout
    ratios = json.loads(out.read_text())["ratios"]
    for name in FIGURES:
        assert ratios[name]["median"] > 0 and ratios[name]["low"] is None and ratios[name]["high"] is None
        assert ratios[name]["significant"] is False


def test_pyperf_compares_the_files_of_two_runs(tmp_path):
    files = [tmp_path / f"{transport}.json" for transport in ("zmq", "native")]
    for done in reqrep_together(*[(("run", path.stem, "--rounds", "2", "--requests", "400", "--requesters", "2",
                                    "--responders", "1", "--quiet", "--pyperf", str(path)), None) for path in files]):
        assert done.returncode == 0, done.stderr
    commands = (["stats", str(files[0])], ["hist", str(files[0])], ["compare_to", *map(str, files)])
    shown = at_once(*[lambda command=command: subprocess.run([sys.executable, "-m", "pyperf", *command],
                                                             capture_output=True, text=True, timeout=60)
                      for command in commands])  # three independent readings of the files
    assert all(each.returncode == 0 for each in shown), [each.stderr for each in shown]
    assert "time per request" in shown[-1].stdout  # compare_to found the benchmarks the two files share


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
    assert set(result.to_json()) - set(result.round().parameters) == FIGURE_KEYS  # no other figure
    saved = document.run_document([result.round()])
    assert saved.requests == 40 and len(saved.rounds) == 1 and saved.succeeded
