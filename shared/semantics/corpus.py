"""The values `reqrep semantics` sends through every path, each under a stable short name. The classes are
at module level, for pickle to find them by name; a case shows its value without a memory address."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import importlib.util
import uuid
from collections import namedtuple
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from shared.core.sizes import MIB


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


Pair = namedtuple("Pair", "x y")


@dataclasses.dataclass
class Reading:
    sensor: str
    value: float


class Plain:
    """An instance of an ordinary class: no __eq__, no __reduce__, just attributes."""

    def __init__(self) -> None:
        self.name = "plain"
        self.items = [1, 2]


class Refusal(Exception):
    """An exception whose __init__ takes other arguments than it passes on: unpickling calls Refusal(*args)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


class Case(NamedTuple):
    name: str  # stable: tests and readers refer to rows by it
    make: Callable[[], Any]
    shown: str = ""  # how the table shows the value; its repr when empty


def _shared() -> list:
    twice = [1, 2]
    return [twice, twice]


def _cycle() -> list:
    itself: list[Any] = [1]
    itself.append(itself)
    return itself


def _nested(depth: int) -> list:
    value: Any = None
    for _ in range(depth):
        value = [value]
    return value


_numpy = functools.partial(importlib.import_module, "numpy")  # only when installed: see build()


def _structured():
    numpy = _numpy()
    return numpy.array([(1, 2.5, b"ab"), (2, -0.0, b"c")], dtype=[("id", "<i4"), ("x", "<f8"), ("tag", "S2")])


AWARE = dt.timezone(dt.timedelta(hours=2))
CASES: list[Case] = [
    Case("none", lambda: None),
    Case("true", lambda: True),
    Case("false", lambda: False),
    Case("int-0", lambda: 0),
    Case("int-minus-1", lambda: -1),
    Case("int-2**63-1", lambda: 2**63 - 1),
    Case("int-minus-2**63", lambda: -(2**63)),
    Case("int-2**64-1", lambda: 2**64 - 1),
    Case("int-2**64", lambda: 2**64),
    Case("int-minus-2**63-1", lambda: -(2**63) - 1),
    Case("int-10**30", lambda: 10**30),
    Case("float-0.5", lambda: 0.5),
    Case("float-minus-0.0", lambda: -0.0),
    Case("float-nan", lambda: float("nan")),
    Case("float-inf", lambda: float("inf")),
    Case("float-minus-inf", lambda: float("-inf")),
    Case("str-empty", lambda: ""),
    Case("str-ascii", lambda: "Hello, 0 1"),
    Case("str-non-latin", lambda: "Καλημέρα, мир, 日本語"),
    Case("str-emoji", lambda: "👋🏽 🐍"),
    Case("str-lone-surrogate", lambda: "a\ud800b"),
    Case("bytes", lambda: b"\x00\xffdata"),
    Case("bytes-empty", lambda: b""),
    Case("bytearray", lambda: bytearray(b"data")),
    Case("memoryview", lambda: memoryview(b"data"), "memoryview(b'data')"),
    Case("list", lambda: [1, "two", 3.0]),
    Case("tuple", lambda: (1, "two", 3.0)),
    Case("list-nested-tuple", lambda: [1, (2, 3)]),
    Case("namedtuple", lambda: Pair(1, 2)),
    Case("list-empty", lambda: []),
    Case("tuple-empty", lambda: ()),
    Case("dict-empty", lambda: {}),
    Case("set-empty", lambda: set()),
    Case("dict-str-keys", lambda: {"a": 1, "b": [2, 3]}),
    Case("dict-int-keys", lambda: {1: "a", 2: "b"}),
    Case("dict-float-keys", lambda: {0.5: "a", 1.5: "b"}),
    Case("dict-bytes-keys", lambda: {b"a": 1, b"b": 2}),
    Case("dict-tuple-keys", lambda: {(1, 2): "a", (3, 4): "b"}),
    Case("dict-mixed-keys", lambda: {"a": 1, 2: "b", (3, 4): "c", b"d": 5}),
    Case("set", lambda: {1, 2, 3}),
    Case("frozenset", lambda: frozenset({1, 2, 3})),
    Case("datetime-naive", lambda: dt.datetime(2024, 5, 17, 13, 45, 30, 123456)),
    Case("datetime-aware", lambda: dt.datetime(2024, 5, 17, 13, 45, 30, 123456, tzinfo=AWARE),
         "datetime(2024, 5, 17, 13, 45, 30, 123456, +02:00)"),
    Case("date", lambda: dt.date(2024, 2, 29)),
    Case("time", lambda: dt.time(23, 59, 59, 999999)),
    Case("timedelta", lambda: dt.timedelta(days=-3, seconds=5, microseconds=7)),
    Case("decimal", lambda: Decimal("3.14")),
    Case("fraction", lambda: Fraction(1, 3)),
    Case("complex", lambda: complex(1.5, -2.0)),
    Case("uuid", lambda: uuid.UUID("12345678-1234-5678-1234-567812345678")),
    Case("enum", lambda: Color.RED),
    Case("intenum", lambda: Level.HIGH),
    Case("dataclass", lambda: Reading("t1", 21.5)),
    Case("object", lambda: Plain(), "Plain() with .name='plain', .items=[1, 2]"),
    Case("exception", lambda: ValueError("boom")),
    Case("exception-custom-init", lambda: Refusal(404, "not found"), "Refusal(404, 'not found')"),
    Case("list-shared", _shared, "[x, x] with x = [1, 2]: one list, twice"),
    Case("list-cycle", _cycle, "x = [1, x]: a list that contains itself"),
    Case("nesting-100", lambda: _nested(100), "[[[…None…]]]: lists 100 deep"),
    Case("nesting-2000", lambda: _nested(2000), "[[[…None…]]]: lists 2,000 deep"),
    Case("str-1mib", lambda: "x" * MIB, "'x' * 2**20: 1 MiB of text"),
    Case("bytes-64mib", lambda: bytes(range(256)) * (64 * MIB // 256), "bytes(range(256)) * 2**18: 64 MiB"),
]
# Each names numpy in its name, so that a reader (and the README's test) can tell the rows that need it.
NUMPY_CASES: list[Case] = [
    Case("numpy-float64", lambda: _numpy().arange(5.0) / 4, "numpy.arange(5.0) / 4: 1-D float64"),
    Case("numpy-slice-2d", lambda: _numpy().arange(24, dtype="int32").reshape(4, 6)[::2, 1::2],
         "numpy.arange(24).reshape(4, 6)[::2, 1::2]: not contiguous"),
    Case("numpy-fortran", lambda: _numpy().asfortranarray(_numpy().arange(6.0).reshape(2, 3)),
         "numpy.asfortranarray(...): 2-D, column-major"),
    Case("numpy-big-endian", lambda: _numpy().arange(4, dtype=">i4"), "numpy.arange(4, dtype='>i4')"),
    Case("numpy-structured", _structured, "numpy.array([(1, 2.5, b'ab'), ...], dtype=[id, x, tag])"),
    Case("numpy-object", lambda: _numpy().array([1, "two", None], dtype=object),
         "numpy.array([1, 'two', None], dtype=object)"),
    Case("numpy-0d", lambda: _numpy().array(3.5), "numpy.array(3.5): 0-d"),
    Case("numpy-scalar", lambda: _numpy().float64(2.5), "numpy.float64(2.5)"),
    Case("numpy-8mib", lambda: _numpy().arange(2**20, dtype="float64"), "numpy.arange(2**20.0): 8 MiB of float64"),
]
NUMPY_SKIPPED = "the numpy-* rows: skipped, numpy is not installed (pip install 'reqrep[numpy]' to add them)"


def build() -> tuple[list[Case], list[str]]:
    """The cases to run here, and notes on those skipped: numpy's rows only where numpy is installed."""
    if importlib.util.find_spec("numpy") is not None:
        return [*CASES, *NUMPY_CASES], []
    return list(CASES), [NUMPY_SKIPPED]


def shown(case: Case, value: Any, width: int = 60) -> str:
    try:
        text = case.shown or repr(value)
    except Exception as error:  # a user's value whose __repr__ raises
        text = f"{type(value).__qualname__} whose repr raised {type(error).__name__}"
    return text if len(text) <= width else text[:width - 1] + "…"
