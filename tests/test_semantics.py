"""`reqrep semantics`: what each path does to Python values, through the real processes and sockets.

One run of the command serves the tests of its output (the README's table, the JSON, the documented
outcomes); the property tests send hypothesis's values through response sides of their own."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import uuid
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import zmq
from conftest import TRANSPORTS, local_config, once_per_session, reqrep
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.cli.commands import main
from shared.core.run import response_side
from shared.core.workload import DECODE_REQUEST, ENCODE_REPLY, ENCODE_REQUEST, SERVER_REQUEST
from shared.semantics import corpus
from shared.semantics.outcomes import Outcome, classify, semantics_paths

pytestmark = pytest.mark.timeout(60)
README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- semantics table: begin -->", "<!-- semantics table: end -->"
PATHS = semantics_paths(list(TRANSPORTS.values()))
PATH_NAMES = [path.name for path in PATHS]


@pytest.fixture(scope="module")
def semantics_run(tmp_path_factory):
    """`reqrep semantics --json --markdown --brief`, once a session: (rows, the brief markdown, stdout)."""
    def make(out: Path) -> None:
        done = reqrep("semantics", "--quiet", "--json", str(out / "rows.json"), "--markdown", str(out / "table.md"),
                      "--brief", timeout=50, env={"COLUMNS": "250"})  # wide enough for rich not to fold the header
        assert done.returncode == 0, done.stderr
        (out / "stdout.txt").write_text(done.stdout, encoding="utf-8")

    out = once_per_session(tmp_path_factory, "semantics", make)
    return (json.loads((out / "rows.json").read_text()), (out / "table.md").read_text(),
            (out / "stdout.txt").read_text(encoding="utf-8"))


def without_numpy(text: str) -> str:
    """numpy's rows exist only where numpy is installed: there they are compared too (the README's table is
    generated with them), elsewhere the rest of the table must not depend on them."""
    if corpus.build()[1] == []:
        return text.strip()
    return "\n".join(line for line in text.strip().splitlines() if "numpy" not in line).strip()


def test_the_readme_table_is_what_a_fresh_run_gives(semantics_run):
    readme = README.read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme, "the README lost its semantics table markers"
    committed = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    _, fresh, _ = semantics_run
    if corpus.build()[1] == []:  # numpy installed: the README's array rows are checked as well
        assert "| numpy-float64 |" in committed, "the README's semantics table has no numpy rows"
    assert without_numpy(committed) == without_numpy(fresh), (
        "README.md's semantics table differs from a fresh run: regenerate it with `reqrep semantics --brief "
        "--markdown PATH`")


def test_rows_have_the_documented_shape(semantics_run):
    rows, _, stdout = semantics_run
    assert [row["case"] for row in rows][:len(corpus.CASES)] == [case.name for case in corpus.CASES]
    for row in rows:
        assert set(row) == {"value", "type", "case", "outcomes"}
        assert list(row["outcomes"]) == PATH_NAMES
        for outcome in row["outcomes"].values():
            assert set(outcome) == {"outcome", "detail"}
            assert outcome["outcome"] in ("identical", "changed", "error")
            assert bool(outcome["detail"]) == (outcome["outcome"] != "identical")
            assert "0x" not in outcome["detail"]  # no memory addresses: the table must be reproducible
        assert len(row["value"]) <= 60 and "0x" not in row["value"]
    assert all(name in stdout for name in PATH_NAMES)


# (case, path) -> the outcome and a piece of its detail, as the README explains them
DOCUMENTED = {
    ("tuple", "zmq+msgpack"): ("changed", "tuple → list"),
    ("list-nested-tuple", "zmq+msgpack"): ("changed", "tuple → list at [1]"),
    ("namedtuple", "zmq+msgpack-ext"): ("changed", "namedtuple → tuple"),
    ("intenum", "zmq+msgpack"): ("changed", "IntEnum → int"),
    ("bytearray", "zmq+msgpack-ext"): ("changed", "bytearray → bytes"),
    ("memoryview", "native"): ("error", f"{ENCODE_REQUEST}: TypeError"),
    ("int-2**64", "zmq+msgpack"): ("error", f"{ENCODE_REQUEST}: OverflowError"),
    ("int-2**64-1", "zmq+msgpack"): ("identical", ""),
    ("int-10**30", "zmq+msgpack-ext"): ("identical", ""),
    ("str-lone-surrogate", "zmq+msgpack-ext"): ("error", f"{ENCODE_REQUEST}: UnicodeEncodeError"),
    ("str-lone-surrogate", "native"): ("identical", ""),
    ("dict-int-keys", "zmq+msgpack"): ("error", f"{DECODE_REQUEST}: ValueError: int is not allowed for map key"),
    ("dict-bytes-keys", "zmq+msgpack"): ("identical", ""),  # the value after two failures goes through
    ("dict-tuple-keys", "zmq+msgpack-ext"): ("identical", ""),
    ("datetime-aware", "zmq+msgpack-ext"): ("identical", ""),
    ("enum", "zmq+msgpack-ext"): ("error", f"{ENCODE_REQUEST}: TypeError"),
    ("exception-custom-init", "native"): ("error", f"{SERVER_REQUEST}: TypeError: Refusal.__init__()"),
    ("list-shared", "zmq+msgpack"): ("changed", "one list referenced twice → separate copies"),
    ("list-shared", "native"): ("identical", ""),
    ("list-cycle", "zmq+msgpack-ext"): ("error", f"{ENCODE_REQUEST}: ValueError"),
    ("list-cycle", "native"): ("identical", ""),
    ("nesting-100", "zmq+msgpack"): ("identical", ""),
    ("nesting-2000", "native"): ("error", f"{ENCODE_REQUEST}: RecursionError"),
    ("str-1mib", "native"): ("identical", ""),
    ("bytes-64mib", "zmq+msgpack"): ("identical", ""),
    ("bytes-64mib", "native"): ("identical", ""),
}


def test_each_path_gives_the_documented_outcome(semantics_run):
    rows = {row["case"]: row for row in semantics_run[0]}
    for (case, path), (outcome, detail) in DOCUMENTED.items():
        found = rows[case]["outcomes"][path]
        assert found["outcome"] == outcome and detail in found["detail"], (case, path, found)
    for case in corpus.CASES:  # what the native path cannot carry is what pickle itself refuses
        if case.name not in ("memoryview", "exception-custom-init", "nesting-2000"):
            assert rows[case.name]["outcomes"]["native"]["outcome"] == "identical", case.name


# The numpy rows, where NumPy is installed: what each path does to an array.
NUMPY_DOCUMENTED = {
    ("numpy-float64", "zmq+msgpack"): ("error", f"{ENCODE_REQUEST}: TypeError: can not serialize 'numpy.ndarray'"),
    ("numpy-float64", "zmq+msgpack-ext"): ("changed", "writeable → read-only"),
    ("numpy-slice-2d", "zmq+msgpack-ext"): ("changed", "writeable → read-only"),
    ("numpy-big-endian", "zmq+msgpack-ext"): ("changed", "writeable → read-only"),
    ("numpy-big-endian", "native"): ("changed", "dtype >i4 → int32"),
    ("numpy-object", "zmq+msgpack-ext"): ("error", "object dtype"),
    ("numpy-object", "native"): ("identical", ""),
    ("numpy-scalar", "zmq+msgpack"): ("changed", "float64 → float"),
    ("numpy-scalar", "zmq+msgpack-ext"): ("identical", ""),
    ("numpy-8mib", "native"): ("identical", ""),
}


def test_each_path_gives_the_documented_outcome_for_arrays(semantics_run):
    pytest.importorskip("numpy", reason="numpy is not installed: the numpy rows are not run")
    rows = {row["case"]: row for row in semantics_run[0]}
    for (case, path), (outcome, detail) in NUMPY_DOCUMENTED.items():
        found = rows[case]["outcomes"][path]
        assert found["outcome"] == outcome and detail in found["detail"], (case, path, found)
    assert all(row["case"].startswith("numpy-") for row in semantics_run[0][len(corpus.CASES):])


def test_semantics_refuses_a_bad_timeout():
    done = reqrep("semantics", "--timeout", "0")
    assert done.returncode == 2 and "--timeout must be a positive number" in done.stderr
    assert "Traceback" not in done.stderr


# ---- property tests through the real transports ---------------------------------------------------------
@contextlib.contextmanager
def mirrors():
    """A mirror response side per path, each with one responder process, stopped on the way out."""
    with contextlib.ExitStack() as stack:
        configs = {}
        for path in PATHS:
            config = local_config(path.transport.name, codec=path.codec, workload="mirror", responders=1, timeout=10.0,
                                  **path.transport.semantics_settings)
            stack.enter_context(response_side(config))
            configs[path] = config
        yield configs


def send(configs: dict, values: list) -> dict[str, list[Outcome]]:
    return {path.name: [classify(value, delivery) for value, delivery in
                        zip(values, path.transport.deliver(config, values), strict=True)]
            for path, config in configs.items()}


# Each example is one batch of values per path: a native requester's connection costs about 0.5 s here (every
# manager connection it opens waits once on Nagle's algorithm and a delayed ACK), a batch of values does not.
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARITY_SCALARS = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text()
                  | st.binary())
PARITY_VALUES = st.recursive(PARITY_SCALARS, lambda inner: st.lists(inner, max_size=4)
                             | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@pytest.mark.timeout(120)
def test_parity_every_path_returns_an_equal_value():
    """None, bool, 64-bit int, float (nan as nan, -0.0 as -0.0), str, bytes, list, dict with str keys."""
    with mirrors() as configs:
        @PROPERTY_SETTINGS
        @given(st.lists(PARITY_VALUES, min_size=1, max_size=8))
        def every_path_returns_it(values):
            for path, outcomes in send(configs, values).items():
                assert outcomes == [Outcome("identical")] * len(values), path

        every_path_returns_it()


ZONES = st.builds(dt.timezone, st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)))
HASHABLES = (st.integers() | st.text(max_size=5) | st.binary(max_size=4) | st.dates() | st.uuids()
             | st.tuples(st.integers(), st.text(max_size=3)) | st.frozensets(st.integers(), max_size=3))
EXTENDED_SCALARS = (PARITY_SCALARS | st.integers() | st.sets(HASHABLES, max_size=3)
                    | st.frozensets(HASHABLES, max_size=3) | st.datetimes(timezones=st.none() | ZONES)
                    | st.dates() | st.times(timezones=st.none() | ZONES)
                    | st.timedeltas() | st.decimals() | st.fractions() | st.complex_numbers() | st.uuids())
EXTENDED_VALUES = st.recursive(EXTENDED_SCALARS, lambda inner: st.lists(inner, max_size=3)
                               | st.lists(inner, max_size=3).map(tuple)
                               | st.dictionaries(HASHABLES, inner, max_size=3), max_leaves=10)
MSGPACK_REFUSES = (set, frozenset, dt.date, dt.time, dt.timedelta, Decimal, Fraction, complex, uuid.UUID)


def msgpack_outcome(value) -> tuple[str, str]:
    """The README's account of plain msgpack: types it has no encoding for fail at the requester; map keys
    other than str and bytes are refused by the responder's decoder; tuples arrive as lists."""
    found, stack = set(), [value]
    while stack:
        item = stack.pop()
        if isinstance(item, MSGPACK_REFUSES) or isinstance(item, int) and not -(2**63) <= item < 2**64:
            found.add("refused")
        elif isinstance(item, list | tuple):
            found.add("tuple" if isinstance(item, tuple) else "list")
            stack.extend(item)
        elif isinstance(item, dict):
            if any(not isinstance(key, str | bytes) for key in item):
                found.add("key")
            stack.extend(item.keys())
            stack.extend(item.values())
    if "refused" in found:
        return "error", ENCODE_REQUEST
    if "key" in found:
        return "error", DECODE_REQUEST
    return ("changed", "tuple → list") if "tuple" in found else ("identical", "")


@pytest.mark.timeout(120)
def test_beyond_parity_each_path_does_what_the_readme_says():
    """msgpack-ext and pickle keep every type msgpack-ext claims, nested in lists, tuples and dicts; plain
    msgpack fails or changes them as documented."""
    with mirrors() as configs:
        @PROPERTY_SETTINGS
        @given(st.lists(EXTENDED_VALUES, min_size=1, max_size=8))
        def as_documented(values):
            outcomes = send(configs, values)
            assert outcomes["zmq+msgpack-ext"] == [Outcome("identical")] * len(values)
            assert outcomes["native"] == [Outcome("identical")] * len(values)
            for value, found in zip(values, outcomes["zmq+msgpack"], strict=True):
                kind, detail = msgpack_outcome(value)
                assert found.outcome == kind and detail in found.detail, (value, found)

        as_documented()


class Fragile:
    """Pickles twice, then refuses: the requester and the server carry it, the responder cannot send it
    back. Here at module level so that pickle finds it in every process."""

    def __init__(self) -> None:
        self.hops = 0

    def __getstate__(self) -> dict:
        if self.hops >= 2:
            raise ValueError("will not travel a third time")
        return {"hops": self.hops + 1}

    def __setstate__(self, state: dict) -> None:
        self.hops = state["hops"]


def test_native_responder_that_cannot_send_a_reply_says_so_and_goes_on():
    config = local_config("native", workload="mirror", responders=1)
    with response_side(config):
        fragile, after = TRANSPORTS["native"].deliver(config, [Fragile(), "after"])
    assert fragile.stage == ENCODE_REPLY and "will not travel a third time" in fragile.error
    assert after.reply == "after" and not after.failed


def test_zmq_requester_recovers_from_a_reply_that_never_comes():
    """A REQ socket that timed out cannot send again: the requester takes a new one for the next value."""
    config = local_config("zmq", workload="mirror", timeout=0.5)
    with zmq.Context() as context, context.socket(zmq.ROUTER) as broker:
        broker.linger, broker.rcvtimeo = 0, 5000
        broker.bind(config.address)
        outcome: list = []
        requester = threading.Thread(target=lambda: outcome.extend(
            TRANSPORTS["zmq"].deliver(config, ["ignored", "answered"])))
        requester.start()
        try:
            broker.recv_multipart()  # the first request: left unanswered
            peer, empty, frame = broker.recv_multipart()  # the second, from a new socket
            broker.send_multipart([peer, empty, frame])
        finally:
            requester.join(10)
    assert [d.stage for d in outcome] == ["waiting for the reply", ""]
    assert outcome[1].reply == "answered"


def test_a_note_keeps_its_brackets_on_the_terminal(monkeypatch, capsys):
    """What reqrep prints is text, not rich markup: `pip install 'reqrep[numpy]'` must not lose its extra."""
    note = "the numpy-* rows: skipped (pip install 'reqrep[numpy]' to add them)"
    monkeypatch.setattr(corpus, "build", lambda: ([corpus.Case("int", lambda: 7)], [note]))
    assert main(["semantics", "--quiet", "--timeout", "20"]) == 0
    assert f"not run here: {note}" in capsys.readouterr().out
