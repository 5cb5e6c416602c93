"""The comparison behind `reqrep semantics`: identical means equal with the same types all the way down and
the same sharing of mutable objects; every change is named with the first place it occurs."""

from __future__ import annotations

import datetime as dt
import enum
from collections import namedtuple
from decimal import Decimal

import pytest

from shared.core.workload import ENCODE_REQUEST, Delivery, delivery_of, error_body, one_line
from shared.semantics.corpus import CASES, Plain, shown
from shared.semantics.outcomes import Outcome, classify, differences, type_label

pytestmark = pytest.mark.timeout(10)


class Size(enum.IntEnum):
    BIG = 2


def shared_pair() -> list:
    inner = [1]
    return [inner, inner]


def cycle() -> list:
    itself: list = []
    itself.append(itself)
    return itself


@pytest.mark.parametrize("sent, received, change", [
    ((1, 2), [1, 2], "tuple → list"),
    ([1, (2, [3, (4,)])], [1, [2, [3, [4]]]], "tuple → list at [1]"),
    (namedtuple("P", "x")(1), (1,), "namedtuple → tuple"),
    (Size.BIG, 2, "IntEnum → int"),
    (bytearray(b"x"), b"x", "bytearray → bytes"),
    (dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), "naive datetime → aware datetime"),
    (-0.0, 0.0, "-0.0 → 0.0"),
    (Decimal("1.0"), Decimal("1"), "Decimal('1.0') → Decimal('1')"),
    ({1: "a"}, {1.0: "a"}, "key int 1 → float 1.0"),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, "key order changed"),
    ({"a": 1}, {}, "key 'a' lost"),
    ([1, 2], [1], "length 2 → 1"),
    ({1, 2}, {1}, "elements 2 → 1, 1 lost"),
    (shared_pair(), [[1], [1]], "one list referenced twice → separate copies at [1]"),
    ([[1], [1]], shared_pair(), "separate lists → one shared object at [1]"),
    (ValueError("a"), ValueError("b"), "'a' → 'b' at .args[0]"),
    (ValueError("a"), TypeError("a"), "ValueError → TypeError"),
])
def test_a_change_is_named_with_where_it_happened(sent, received, change):
    assert change in differences(sent, received)


@pytest.mark.parametrize("make", [
    lambda: float("nan"), lambda: [float("nan"), -0.0], lambda: complex(float("nan"), -0.0), shared_pair, cycle,
    lambda: {(1, 2): {frozenset({3}): [dt.time(1, tzinfo=dt.UTC)]}}, lambda: ValueError("boom", 1),
])
def test_equal_values_with_equal_sharing_are_identical(make):
    assert differences(make(), make()) == []


def test_a_plain_object_is_compared_by_its_attributes():
    other = Plain()
    assert differences(Plain(), other) == []
    other.items = (1, 2)
    assert differences(Plain(), other) == ["list → tuple at .items"]


def test_a_cycle_kept_is_identical_and_a_cycle_unrolled_is_not():
    unrolled = [[]]
    assert differences(cycle(), cycle()) == []
    assert differences(cycle(), unrolled) != []


def test_two_thousand_levels_are_walked_without_recursion():
    def nested(depth, leaf):
        value = leaf
        for _ in range(depth):
            value = [value]
        return value

    assert differences(nested(2000, None), nested(2000, None)) == []
    assert differences(nested(2000, (1,)), nested(2000, [1])) == [f"tuple → list at {'[0]' * 2000}"]


def test_many_changes_are_counted_after_the_first_three():
    outcome = classify([(1,), b"", Size.BIG, -0.0, {1}], Delivery([[1], "", 2, 0.0, [1]]))
    assert outcome.outcome == "changed" and outcome.detail.endswith("; and 2 more")


def test_an_error_reply_becomes_its_stage_and_error():
    body = error_body(ENCODE_REQUEST, TypeError("no"))
    assert delivery_of(body) == Delivery(stage=ENCODE_REQUEST, error="TypeError: no")
    assert classify(1, delivery_of(body)) == Outcome("error", f"{ENCODE_REQUEST}: TypeError: no")
    assert delivery_of({"status": 400, "body": "x"}).reply == {"status": 400, "body": "x"}  # an rpc reply


def test_an_error_is_described_in_one_safe_line():
    assert one_line(ValueError("two\nlines")) == "ValueError: two lines"
    assert one_line(KeyError("\ud800")) == "KeyError: '\\ud800'"
    assert one_line(ValueError("\ud800")).encode("utf-8")
    assert len(one_line(ValueError("x" * 10_000))) == 300


def test_every_case_is_shown_without_memory_addresses():
    for case in CASES:
        if case.name not in ("bytes-64mib", "nesting-2000"):
            value = case.make()
            assert "0x" not in shown(case, value) and " at 0x" not in type_label(value)
    assert len({case.name for case in CASES}) == len(CASES)
