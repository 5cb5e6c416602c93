"""What each path (a transport and one of its `semantics_codecs`) does to Python values: a real mirror run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import reprlib
import sys
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any, NamedTuple

from shared.core.config import RunConfig
from shared.core.run import response_side
from shared.core.transport import Transport
from shared.core.workload import BUILD_VALUE, COMPARE_REPLY, Delivery, one_line
from shared.semantics.corpus import Case, shown

MAX_NOTES = 3  # distinct changes named per value; the rest are counted


class SemanticsPath(NamedTuple):
    name: str  # "zmq+msgpack-ext"; a transport with one codec is named alone ("native")
    transport: Transport
    codec: str


def semantics_paths(transports: list[Transport]) -> list[SemanticsPath]:
    return [SemanticsPath(t.name if len(t.semantics_codecs) == 1 else f"{t.name}+{codec}", t, codec)
            for t in transports for codec in t.semantics_codecs]


class Outcome(NamedTuple):
    outcome: str  # identical, changed or error
    detail: str = ""


@dataclasses.dataclass
class Row:
    case: str
    value: str
    type: str
    outcomes: dict[str, Outcome]

    @property
    def agree(self) -> bool:
        """Every path gives the same outcome, and the same change where values change."""
        seen = {(o.outcome, o.detail if o.outcome == "changed" else "") for o in self.outcomes.values()}
        return len(seen) == 1

    def to_json(self) -> dict:
        return {"value": self.value, "type": self.type, "case": self.case,
                "outcomes": {path: o._asdict() for path, o in self.outcomes.items()}}


def measure(transports: list[Transport], cases: list[Case], timeout: float,
            progress: Callable[[str], None] | None = None) -> list[Row]:
    """Every case through every path (a mirror responder and one requester); a value not built: errors."""
    built = [built_value(case) for case in cases]
    values = [made.reply for made in built if not made.failed]
    outcomes: list[dict[str, Outcome]] = [{} for _ in cases]
    for path in semantics_paths(transports):
        if progress is not None:
            progress(path.name)
        transport = path.transport
        settings = dataclasses.replace(transport.settings_type(), **transport.semantics_settings)
        config = RunConfig(transport=transport, requests=max(1, len(values)), requesters=1, responders=1,
                           workload="mirror", codec=path.codec, timeout=timeout, settings=settings)
        with transport.loopback(config) as local, response_side(local):
            deliveries = iter(transport.deliver(local, values))
        for found, made in zip(outcomes, built, strict=True):
            found[path.name] = classify(made.reply, made if made.failed else next(deliveries))
    return [Row(case.name, shown(case, made.reply) if not made.failed else "—",
                type_label(made.reply) if not made.failed else "—", found)
            for case, made, found in zip(cases, built, outcomes, strict=True)]


def built_value(case: Case) -> Delivery:
    """The case's value (as a Delivery's reply), or the error that building it raised."""
    try:
        return Delivery(case.make())
    except Exception as error:
        return Delivery(stage=BUILD_VALUE, error=one_line(error))


def classify(sent: Any, delivery: Delivery) -> Outcome:
    if delivery.failed:
        return Outcome("error", f"{delivery.stage}: {delivery.error}")
    try:
        notes = differences(sent, delivery.reply)
    except Exception as error:  # a user's value whose own ==, hash or attributes raise
        return Outcome("error", f"{COMPARE_REPLY}: {one_line(error)}")
    if not notes:
        return Outcome("identical")
    more = f"; and {len(notes) - MAX_NOTES} more" if len(notes) > MAX_NOTES else ""
    return Outcome("changed", "; ".join(notes[:MAX_NOTES]) + more)


def kind(value: Any) -> str:
    """A type as the table names it: what a reader knows it as (IntEnum, namedtuple, naive datetime)."""
    if isinstance(value, enum.IntEnum):
        return "IntEnum"
    if isinstance(value, enum.Enum):
        return "Enum"
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        return "namedtuple"
    if isinstance(value, dt.datetime | dt.time):
        return f"{'aware' if value.tzinfo is not None else 'naive'} {type(value).__name__}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "dataclass"
    return type(value).__name__


def type_label(value: Any) -> str:
    """The type column: the class, and what kind of thing it is when the name does not say."""
    name, family = type(value).__qualname__, kind(value)
    if isinstance(value, BaseException) and type(value).__module__ != "builtins":
        family = "exception"
    if family.endswith(f" {name}"):  # naive datetime, aware time
        family = family.split()[0]
    return name if family == name else f"{name} ({family})"


_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother = 2, 24, 24


def _is_object(value: Any) -> bool:
    """An instance compared by its attributes: exceptions, dataclasses, plain objects (not enums, classes)."""
    if isinstance(value, BaseException):
        return True
    return hasattr(value, "__dict__") and not isinstance(value, type | enum.Enum | ModuleType | Callable)


def _has_identity(value: Any) -> bool:
    """Mutable values, whose sharing (one object referenced twice, a cycle) a path may keep or lose."""
    return isinstance(value, list | dict | set | bytearray) or _is_object(value)


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def same_value(a: Any, b: Any) -> bool:
    """Equality of two leaves, stricter than ==: nan equals nan, -0.0 differs from 0.0, Decimal('1.0') from
    Decimal('1'), and a time zone's offset counts."""
    if isinstance(a, float) and isinstance(b, float):
        return _same_float(a, b)
    if isinstance(a, complex) and isinstance(b, complex):
        return _same_float(a.real, b.real) and _same_float(a.imag, b.imag)
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return str(a) == str(b)
    if isinstance(a, dt.datetime | dt.time) and isinstance(b, dt.datetime | dt.time):
        return a.isoformat() == b.isoformat() and a.fold == b.fold
    if isinstance(a, bytes | bytearray | memoryview) and isinstance(b, bytes | bytearray | memoryview):
        return bytes(a) == bytes(b)
    if _is_array(a) and _is_array(b):  # NumPy scalars (arrays are walked by `differences`)
        return a.dtype == b.dtype and _same_bytes(a, b)
    try:
        return bool(a == b)
    except Exception:
        return False


def _is_array(value: Any) -> bool:
    """A NumPy array or scalar (NumPy is imported already wherever one exists)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray | numpy.generic)


def _same_bytes(a: Any, b: Any) -> bool:
    """Two arrays of one dtype and shape hold the same bytes, whatever their memory layout."""
    numpy = sys.modules["numpy"]
    flat_a, flat_b = (numpy.ascontiguousarray(x).reshape(-1).view(numpy.uint8) for x in (a, b))
    return bool(numpy.array_equal(flat_a, flat_b))


def _pair_arrays(a: Any, b: Any, at: str, note: Callable[[str, str], None], flags: bool) -> list:
    """Two arrays' dtypes, shapes and items, and, with `flags`, whether a writeable one arrived read-only."""
    if a.dtype != b.dtype:
        note(f"dtype {a.dtype} → {b.dtype}", at)
    elif a.shape != b.shape:
        note(f"shape {a.shape} → {b.shape}", at)
    elif a.dtype.hasobject:
        return [(x, y, f"{at}[{i}]") for i, (x, y) in enumerate(zip(a.flat, b.flat, strict=True))]
    elif not _same_bytes(a, b):
        note(f"{_short.repr(a)} → {_short.repr(b)}", at)
    if flags and a.flags.writeable and not b.flags.writeable:
        note("writeable → read-only", at)
    return []


def differences(sent: Any, received: Any, *, flags: bool = True) -> list[str]:
    """How `received` differs from `sent`, one note per distinct change where it first occurs (`tuple → list
    at [1]`); empty when equal, with the same types and sharing all the way down. A stack, not recursion:
    2,000 levels are fine. `flags`: an array that arrives read-only counts as changed."""
    notes: dict[str, str] = {}
    partner_of: dict[int, Any] = {}  # id of a sent object -> what it arrived as
    origin_of: dict[int, Any] = {}  # id of a received object -> what it was sent as
    stack = [(sent, received, "")]

    def note(change: str, at: str) -> None:
        notes.setdefault(change, at)

    while stack:
        a, b, at = stack.pop()
        if a is b or _seen(a, b, at, partner_of, origin_of, note):
            continue  # the same object came back (a singleton), or compared already (or a cycle)
        names = (kind(a), kind(b))
        retyped = type(a) is not type(b) or names[0] != names[1]  # naive → aware: one type, two kinds
        if retyped:
            if names[0] == names[1]:
                names = (type(a).__qualname__, type(b).__qualname__)
            note(f"{names[0]} → {names[1]}", at)
        stack.extend(reversed(_children(a, b, at, note, flags, retyped)))
    return [f"{change} at {at}" if at else change for change, at in notes.items()]


def _seen(a: Any, b: Any, at: str, partner_of: dict, origin_of: dict, note: Callable[[str, str], None]) -> bool:
    """Note a change of sharing; True when `a` was compared already."""
    if _has_identity(a):
        if id(a) in partner_of:
            if partner_of[id(a)] is not b:
                note(f"one {kind(a)} referenced twice → separate copies", at)
            return True
        partner_of[id(a)] = b
    if _has_identity(b):
        if id(b) in origin_of and origin_of[id(b)] is not a:
            note(f"separate {kind(a)}s → one shared object", at)
        origin_of[id(b)] = a
    return False


def _children(a: Any, b: Any, at: str, note: Callable[[str, str], None], flags: bool, retyped: bool) -> list:
    """The pairs inside `a` and `b` to compare next; a leaf's change noted."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            note(f"length {len(a)} → {len(b)}", at)
        return [(x, y, f"{at}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=False))]
    if isinstance(a, dict) and isinstance(b, dict):
        return _pair_keys(a, b, at, note)
    if isinstance(a, set | frozenset) and isinstance(b, set | frozenset):
        return _pair_elements(a, b, at, note)
    if _is_object(a) and type(a) is type(b):
        return _pair_attributes(a, b, at)
    if not retyped and _is_array(a) and not isinstance(a, sys.modules["numpy"].generic):
        return _pair_arrays(a, b, at, note, flags)
    if not retyped and not same_value(a, b):  # a new type says it already
        note(f"{_short.repr(a)} → {_short.repr(b)}", at)
    return []


def _pair_keys(a: dict, b: dict, at: str, note: Callable[[str, str], None]) -> list:
    arrived = {key: key for key in b}  # finds b's own key object from an equal key of a
    pairs = []
    for key, value in a.items():
        if key not in arrived:
            note(f"key {_short.repr(key)} lost", at)
            continue
        other = arrived[key]
        if type(key) is not type(other) or not same_value(key, other):
            note(f"key {kind(key)} {_short.repr(key)} → {kind(other)} {_short.repr(other)}", at)
        pairs.append((value, b[other], f"{at}[{_short.repr(key)}]"))
    if len(b) > len(pairs):
        note(f"{len(b) - len(pairs)} keys added", at)
    elif [arrived[k] for k in a if k in arrived] != list(b):
        note("key order changed", at)
    return pairs


def _pair_elements(a: set | frozenset, b: set | frozenset, at: str, note: Callable[[str, str], None]) -> list:
    arrived = {element: element for element in b}
    pairs = [(element, arrived[element], f"{at}{{{_short.repr(element)}}}") for element in a if element in arrived]
    if len(pairs) != len(a) or len(b) != len(a):
        note(f"elements {len(a)} → {len(b)}, {len(a) - len(pairs)} lost", at)
    return pairs


def _pair_attributes(a: Any, b: Any, at: str) -> list:
    pairs = [(a.args, b.args, f"{at}.args")] if isinstance(a, BaseException) else []
    mine, theirs = vars(a), vars(b)
    for name in sorted(mine.keys() | theirs.keys()):
        missing = object()
        pairs.append((mine.get(name, missing), theirs.get(name, missing), f"{at}.{name}"))
    return pairs
