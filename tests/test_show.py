"""`reqrep show` of several files: each column is its own file's run (its counts, its settings, its security),
the title says only what every file shares, and an older file's missing settings read "not recorded"."""

from __future__ import annotations

import json

import pytest
from conftest import once_per_session, reqrep

pytestmark = pytest.mark.timeout(120)
SMALL = ("--rounds", "1", "--responders", "2", "--quiet")
RUNS = {"plain": ["zmq", "--requests", "200", "--requesters", "2"],
        "curve": ["zmq", "--curve", "--requests", "300", "--requesters", "3"],
        "native": ["native", "--requests", "240", "--requesters", "2"]}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """A real run file of each of RUNS, made once a session."""
    def make(folder) -> None:
        for name, arguments in RUNS.items():
            done = reqrep("run", *arguments, *SMALL, "--json", str(folder / f"{name}.json"))
            assert done.returncode == 0, done.stderr

    folder = once_per_session(tmp_path_factory, "show", make)
    return {name: str(folder / f"{name}.json") for name in RUNS}


def shown(tmp_path, *paths: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """`reqrep show PATHS --markdown`: the table's title, its column names, and {row: its cells}."""
    markdown = tmp_path / "shown.md"
    done = reqrep("show", *paths, "--markdown", str(markdown))
    assert done.returncode == 0, done.stderr
    lines = markdown.read_text().splitlines()
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    header, body = table[0], table[2:]
    return lines[0].strip("*"), header[1:], {row[0]: row[1:] for row in body}


def test_each_column_has_its_own_files_counts_and_security(files, tmp_path):
    title, columns, rows = shown(tmp_path, files["plain"], files["curve"])
    assert title == "router example, echo workload: 2 responders"  # what both share, and nothing else
    assert columns == ["zmq+msgpack #1", "zmq+msgpack #2"]
    assert rows["requests"] == ["200", "300"] and rows["requests ok"] == ["200", "300"]
    assert rows["requesters"] == ["2", "3"]
    assert rows["security"] == ["CURVE off", "CURVE on"]


def test_a_native_file_beside_a_zmq_one_names_its_authkey_challenge(files, tmp_path):
    title, columns, rows = shown(tmp_path, files["curve"], files["native"])
    assert title == "router example, echo workload: 2 responders"
    assert columns == ["zmq", "native"]
    assert rows["requests"] == ["300", "240"] and rows["requesters"] == ["3", "2"]
    assert rows["security"][0] == "CURVE on" and rows["security"][1] in ("authkey, HMAC-MD5", "authkey, HMAC-SHA256")
    assert rows["broker"] == ["proxy", "—"] and rows["manager calls"] == ["—", "one request each"]


def test_files_that_share_everything_keep_it_all_in_the_title(files, tmp_path):
    title, _, rows = shown(tmp_path, files["plain"], files["plain"])
    assert title == "router example, echo workload: 200 requests, 2 requesters, 2 responders"
    assert "requests" not in rows and "requesters" not in rows and rows["security"] == ["CURVE off", "CURVE off"]


def test_a_file_older_than_the_security_fields_says_not_recorded(files, tmp_path):
    older = {}
    for name, field in (("plain", "curve"), ("native", "authkey_challenge")):
        saved = json.loads(open(files[name], encoding="utf-8").read())
        saved.pop(field, None)
        saved.pop("described")
        older[name] = tmp_path / f"older-{name}.json"
        older[name].write_text(json.dumps(saved | {"rounds": [{k: v for k, v in each.items() if k != field}
                                                              for each in saved["rounds"]]}))
    _, _, rows = shown(tmp_path, str(older["plain"]), str(older["native"]))
    assert rows["security"] == ["not recorded", "not recorded"]
    assert rows["requests ok"] == ["200", "240"] and rows["broker"] == ["proxy", "—"]
