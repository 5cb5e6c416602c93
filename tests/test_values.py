"""The user's own values: `semantics --values` and `--payload`, through the real command line and processes.
A file of five values of different kinds goes through both; one that a codec cannot carry is refused, exit 2,
before anything starts; a broken file is one sentence."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import local_config, reqrep, start_reqrep, wait_for_line

from shared.core.errors import UsageError
from shared.core.ports import free_port
from shared.core.run import run
from shared.semantics.values import Payload, load_payload, refusals

pytestmark = pytest.mark.timeout(60)

# Five kinds that every path but plain msgpack carries unchanged, then a class of the file's own.
FIVE = """
    import datetime as dt
    from decimal import Decimal

    VALUES = {
        "when": dt.datetime(2024, 5, 17, 13, 45, 30, 123456),
        "pair": (1, ("two", 3.0)),
        "blob": bytes(range(256)),
        "counts": {1: "one", 2: [2, 2]},
        "price": Decimal("19.99"),
    }
"""
OWN_CLASS = """
    import dataclasses

    @dataclasses.dataclass
    class Reading:
        sensor: str
        value: float

    def local():
        class Hidden:
            pass
        return Hidden()

    VALUES = [Reading("t1", 21.5), local(), lambda: 1]
"""


def values_file(tmp_path, source: str, name: str = "values.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def semantics_rows(tmp_path, path: str) -> dict:
    out = tmp_path / "rows.json"
    done = reqrep("semantics", "--values", path, "--quiet", "--json", str(out))
    assert done.returncode == 0, done.stderr
    return {row["case"]: {name: o["outcome"] for name, o in row["outcomes"].items()} | {"type": row["type"]}
            for row in json.loads(out.read_text())}


def test_semantics_sends_five_values_of_the_users_through_every_path(tmp_path):
    rows = semantics_rows(tmp_path, values_file(tmp_path, FIVE))
    assert list(rows) == ["when", "pair", "blob", "counts", "price"]
    for name, row in rows.items():
        assert row["zmq+msgpack-ext"] == row["native"] == "identical", name
        assert row["zmq+msgpack"] == ("identical" if name == "blob" else "changed" if name == "pair" else "error")
    assert rows["when"]["type"] == "datetime (naive)"


def test_a_class_of_the_file_reaches_the_forked_server_and_a_local_one_is_a_row_of_errors(tmp_path):
    rows = semantics_rows(tmp_path, values_file(tmp_path, OWN_CLASS))
    assert rows["0"]["native"] == "identical"  # unpickled by the server and the responder, forked after loading
    assert rows["1"]["native"] == rows["2"]["native"] == "error"  # cannot even be pickled at the requester
    assert all(row["zmq+msgpack-ext"] == "error" for row in rows.values())


@pytest.mark.parametrize("transport, codec", [("zmq", "msgpack-ext"), ("native", "pickle")])
def test_run_sends_the_five_values_in_turn_and_checks_every_reply(tmp_path, transport, codec):
    out = tmp_path / "run.json"
    done = reqrep("run", transport, "--codec", codec, "--payload", values_file(tmp_path, FIVE), "--requests", "60",
                  "--requesters", "3", "--responders", "2", "--quiet", "--json", str(out))
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert (result["ok"], result["failed"], result["workload"]) == (60, 0, "mirror")
    assert result["payload"].endswith("values.py") and result["bytes_per_request"]["payload"] > 50
    assert "payload, encoded" in done.stdout


ARRAYS = """
    import numpy

    VALUES = {"small": numpy.arange(16.0), "grid": numpy.arange(12, dtype=numpy.int32).reshape(3, 4)}
"""


@pytest.mark.parametrize("window", ["1", "4"])
@pytest.mark.parametrize("transport, codec", [("zmq", "msgpack-ext"), ("native", "pickle")])
def test_arrays_as_requests_are_checked_on_the_fast_path_and_the_slow(tmp_path, transport, codec, window):
    """An array's == is no truth: the request loops compare its framed reply all the same (lockstep and
    window alike), and a reply is right only if the array came back identical."""
    pytest.importorskip("numpy", reason="NumPy is not installed (pip install 'reqrep[numpy]')")
    out = tmp_path / "run.json"
    done = reqrep("run", transport, "--codec", codec, "--payload", values_file(tmp_path, ARRAYS), "--requests", "40",
                  "--requesters", "2", "--responders", "2", "--window", window, "--quiet", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert (json.loads(out.read_text())["ok"], json.loads(out.read_text())["failed"]) == (40, 0)


def test_the_check_refuses_what_msgpack_cannot_carry_before_anything_starts(tmp_path):
    path = values_file(tmp_path, FIVE)
    done = reqrep("run", "zmq", "--payload", path, "--requests", "10")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "`when` (datetime) cannot be encoded by msgpack" in done.stderr
    assert "`pair` (tuple) comes back changed through msgpack (tuple → list" in done.stderr
    assert "`counts` (dict) is refused by msgpack's decoder" in done.stderr
    assert done.stderr.count("try `--codec msgpack-ext`") == 4  # all but blob, which msgpack carries
    done = reqrep("compare", "--payload", f"{path}:price", "--requests", "10")
    assert done.returncode == 2 and "zmq: `price` (Decimal) cannot be encoded by msgpack" in done.stderr
    assert "try `--zmq-codec msgpack-ext`" in done.stderr


@pytest.mark.parametrize("transport, codec", [("zmq", "msgpack-ext"), ("native", "pickle")])
def test_a_request_side_sends_the_values_to_a_mirroring_response_side(tmp_path, transport, codec):
    """Tandem: `VARIANT request --payload` against `VARIANT serve --workload mirror`, every reply checked."""
    flag, address = ("--front", f"tcp://127.0.0.1:{free_port()}") if transport == "zmq" else (
        "--address", f"127.0.0.1:{free_port()}")
    key = {"REQREP_AUTHKEY": "values-key"}
    server = start_reqrep(transport, "serve", flag, address, "--responders", "2", "--workload", "mirror",
                          "--codec", codec, env=key)
    try:
        wait_for_line(server, "serving on")
        out = tmp_path / "request.json"
        done = reqrep(transport, "request", flag, address, "--codec", codec, "--payload", values_file(tmp_path, FIVE),
                      "--requests", "50", "--requesters", "2", "--quiet", "--json", str(out), env=key)
        assert done.returncode == 0, done.stderr
        result = json.loads(out.read_text())
        assert (result["ok"], result["failed"], result["workload"]) == (50, 0, "mirror")
        refused = reqrep(transport, "request", flag, address, "--codec", "msgpack", "--payload",
                         f"{values_file(tmp_path, FIVE)}:when", "--requests", "5", env=key)
        assert refused.returncode == 2 and "`when` (datetime) cannot be encoded by msgpack" in refused.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_class_of_the_file_travels_in_a_native_run_with_threads(tmp_path):
    payload = load_payload(f"{values_file(tmp_path, OWN_CLASS)}:0")
    result = run(local_config("native", payload=payload, concurrency="threads", requests=30))
    assert (result.ok, result.failed) == (30, 0)


def test_a_reply_that_is_equal_but_not_identical_is_wrong():
    same = Payload("x", ("pair",), ((1, 2),)).workload().same
    assert same((1, 2), (1, 2)) and not same((1, 2), [1, 2]) and not same(0.0, -0.0)


@pytest.mark.parametrize("source, spec, message", [
    (None, "missing.py", "no values file at "),
    ("VALUES = [1,\n", "values.py", "values.py line 1: "),
    ("x = 1\nVALUES = {'a': 1 / 0}\n", "values.py", "failed at line 2: ZeroDivisionError: division by zero"),
    ("VALUE = [1]\n", "values.py", "defines no VALUES, a dict of name to value or a list"),
    ("VALUES = (1, 2)\n", "values.py", "must define VALUES, a dict of name to value or a list, not a tuple"),
    ("VALUES = {}\n", "values.py", "VALUES in"),
    ("VALUES = {'a': 1}\n", "values.py:b", "has no value named 'b' in VALUES: it has a"),
])
def test_a_broken_values_file_is_one_sentence(tmp_path, source, spec, message):
    if source is not None:
        values_file(tmp_path, source)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_payload(str(tmp_path / spec))


def test_payload_needs_the_echo_workload_and_no_padding(tmp_path):
    payload = load_payload(values_file(tmp_path, "VALUES = ['a']\n"))
    with pytest.raises(UsageError, match="not with --workload rpc"):
        local_config("zmq", payload=payload, workload="rpc")
    with pytest.raises(UsageError, match="give one or the other"):
        local_config("zmq", payload=payload, payload_bytes=100)
    done = reqrep("run", "native", "--payload", str(tmp_path / "values.py"), "--payload-bytes", "10")
    assert done.returncode == 2 and "give one or the other" in done.stderr


def test_a_frame_over_the_message_limit_is_refused_with_the_flag_to_raise(tmp_path):
    payload = load_payload(values_file(tmp_path, "VALUES = {'big': bytes(2000)}\n"))
    [sentence] = refusals(local_config("zmq", payload=payload, max_message_bytes=1000), "--codec")
    assert "exceeds --max-message-bytes (1,000)" in sentence
