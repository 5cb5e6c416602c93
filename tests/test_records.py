"""The typed records of run and compare documents: one JSON Schema generated from them, which every document
reqrep writes satisfies; files of every older format read through the one adapter; ratios for any number of
variants; one Markdown table writer."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import reqrep, reqrep_together
from test_cli import assert_usage_error
from test_stalls import a_round

from shared.core.errors import UsageError
from shared.core.records import problems
from shared.report import document
from shared.report.markdown import markdown_table
from shared.report.records import Comparison, Variant, document_schema
from shared.report.rows import ratio_lines

pytestmark = pytest.mark.timeout(120)
OLD = Path(__file__).parent / "old_files"
SCHEMA = Path(__file__).resolve().parents[1] / "shared" / "report" / "schema.json"
SMALL = ("--requests", "300", "--requesters", "2", "--responders", "1", "--quiet")


def valid(data: dict) -> list[str]:
    return problems(data, document_schema())


def test_the_schema_beside_the_records_is_the_one_they_generate():
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == document_schema(), \
        "regenerate it: python -m shared.report.records > shared/report/schema.json"


def test_every_document_reqrep_writes_satisfies_the_schema(tmp_path):
    written = {"run": ["run", "native", "--rounds", "2", *SMALL], "compare": ["compare", "--rounds", "2", *SMALL]}
    files = [tmp_path / f"{name}.json" for name in written]
    for done in reqrep_together(*[((*arguments, "--json", str(path)), None)
                                  for path, arguments in zip(files, written.values(), strict=True)]):
        assert done.returncode == 0, done.stderr
    shown = tmp_path / "side-by-side.json"
    assert reqrep("show", *map(str, files), str(OLD / "v1-run.json"), "--json", str(shown)).returncode == 0
    for path in [*files, shown]:
        assert valid(json.loads(path.read_text())) == [], path.name


@pytest.mark.parametrize("old", sorted(path.name for path in OLD.glob("*.json")))
def test_show_writes_every_older_file_again_in_the_current_format(old, tmp_path):
    again = tmp_path / "again.json"
    done = reqrep("show", str(OLD / old), "--json", str(again))
    assert done.returncode == 0, done.stderr
    brought = json.loads(again.read_text())
    assert valid(brought) == [] and brought["format"] in (document.RUN, document.COMPARE)
    assert "requests ok" in done.stdout and "Traceback" not in done.stderr


def test_the_adapter_reads_each_format_into_the_records():
    v1 = document.read(str(OLD / "v1-run.json"))
    assert isinstance(v1, Variant) and len(v1.rounds) == 1 and v1.headline.ok == v1.requests == 200
    v1_compare = document.read(str(OLD / "v1-compare.json"))
    assert isinstance(v1_compare, Comparison) and [run.transport for run in v1_compare.runs] == ["zmq", "native"]
    assert v1_compare.ratios.rounds == 1 and v1_compare.more_ratios == []  # one round each, worked out here
    v2 = document.read(str(OLD / "v2-compare.json"))
    assert v2.ratios.numerator == "zmq" and v2.ratios.throughput_rps.rounds == 2  # version 2's worked out again
    for name in ("v2-run.json", "v3-prestall-run.json"):
        older = document.read(str(OLD / name))
        assert older.headline.stalled_rounds is None and older.headline.stalls is None  # before stalls were marked
        assert len(older.rounds) == 2 and older.succeeded


def test_a_file_older_than_stall_marking_says_its_medians_hold_the_stall(tmp_path):
    saved = json.loads((OLD / "v3-prestall-run.json").read_text())
    saved["rounds"][1]["retries"] = 7
    (tmp_path / "stalled.json").write_text(json.dumps(saved))
    done = reqrep("show", str(tmp_path / "stalled.json"), "--json", str(tmp_path / "again.json"))
    assert done.returncode == 0, done.stderr
    assert "in the medians (a file older than the marking of stalls)" in done.stdout
    assert "round 2: 7 retries with no fault inflicted" in done.stderr
    assert "stalled_rounds" not in json.loads((tmp_path / "again.json").read_text())  # it stays as it was


def test_a_current_file_is_written_back_byte_for_byte(tmp_path):
    out, again = tmp_path / "run.json", tmp_path / "again.json"
    assert reqrep("compare", "--rounds", "2", *SMALL, "--json", str(out)).returncode == 0
    assert reqrep("show", str(out), "--json", str(again)).returncode == 0
    assert again.read_text() == out.read_text()


@pytest.mark.parametrize("breaking, said", [
    (lambda data: data.update(ok="all of them"), "$.ok: str 'all of them' is not of type integer"),
    (lambda data: data["rounds"][0].pop("latency_us"), "$.rounds[0]: no 'latency_us'"),
    (lambda data: data["spread"].update(widest=[1, 2]), "$.spread: 'widest' is not a key of this object"),
])
def test_a_file_that_breaks_its_format_is_refused_in_one_sentence(breaking, said, tmp_path):
    saved = json.loads((OLD / "v3-prestall-run.json").read_text())
    breaking(saved)
    (tmp_path / "broken.json").write_text(json.dumps(saved))
    assert_usage_error(reqrep("show", str(tmp_path / "broken.json")), said)
    with pytest.raises(UsageError, match="is not a readable reqrep-run/3 file"):
        document.read(str(tmp_path / "broken.json"))


def three_variants() -> Comparison:
    zmq = [a_round(150_000.0), a_round(160_000.0), a_round(155_000.0)]
    native = [a_round(50_000.0, transport="native"), a_round(52_000.0, transport="native"),
              a_round(51_000.0, transport="native")]
    third = [a_round(75_000.0, transport="third"), a_round(80_000.0, transport="third"),
             a_round(77_000.0, transport="third")]
    return document.compare_document([zmq, native, third])


def test_ratios_pair_the_first_variant_with_each_other():
    compared = three_variants()
    assert [(pair.numerator, pair.denominator) for pair in compared.pairs] == [("zmq", "native"), ("zmq", "third")]
    assert 2.9 < compared.ratios.throughput_rps.median < 3.1 and 1.9 < compared.more_ratios[0].throughput_rps.median
    lines = ratio_lines(compared)
    assert [line.split(",")[0] for line in lines if " / " in line] == ["zmq / native", "zmq / third"]
    data = compared.to_json()
    assert valid(data) == [] and len(data["more_ratios"]) == 1
    assert document.adapted(copy.deepcopy(data), "three.json").to_json() == data  # read back as written


def test_two_variants_keep_one_ratio_and_no_more_ratios_key():
    compared = document.compare_document([[a_round(150_000.0)] * 2, [a_round(50_000.0, transport="native")] * 2])
    assert "more_ratios" not in compared.to_json() and compared.ratios.numerator == "zmq"
    assert ratio_lines(compared)[0].startswith("zmq / native, paired round by round over 2 rounds")


def test_one_markdown_table_writer_serves_numbers_and_text():
    assert markdown_table(["", "zmq", "native"], [["requests ok", "1,000", "1,000"]]) == [
        "|  | zmq | native |", "|---|---:|---:|", "| requests ok | 1,000 | 1,000 |"]
    assert markdown_table(["case", "type"], [["a|b", "list[int]"]], numbers=False, escape=True) == [
        "| case | type |", "|---|---|", "| a\\|b | list\\[int\\] |"]


def test_the_first_ratio_is_over_the_first_other_transport_and_the_rest_follow_in_order():
    """compare --factorial: zmq+msgpack over native+pickle first, as with two variants; then the others."""
    def variant(transport: str, codec: str, throughput: float) -> list:
        return [replace(a_round(throughput, transport=transport), parameters=a_round(throughput).parameters
                        | {"transport": transport, "codec": codec}) for _ in range(2)]

    compared = document.compare_document([variant("zmq", "msgpack", 3.0), variant("zmq", "pickle", 2.0),
                                          variant("native", "pickle", 1.0), variant("native", "msgpack", 1.5)])
    assert [(pair.numerator, pair.denominator) for pair in compared.pairs] == [
        ("zmq+msgpack", "native+pickle"), ("zmq+msgpack", "zmq+pickle"), ("zmq+msgpack", "native+msgpack")]
    assert compared.ratios.throughput_rps.median == 3.0
