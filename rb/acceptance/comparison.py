"""Expected values in an acceptance pack: a plain value, or a comparison like "<= 300".

A string that starts with `<`, `<=`, `>`, `>=`, `==` or `!=` is a comparison;
the rest of the string is read as a YAML scalar (`300`, `0.95`, `true`,
`text`). Anything else is compared for equality, as data.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_COMPARISON = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*", re.DOTALL)
_ORDERING: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class ComparisonError(ValueError):
    """An expected value that cannot be read; the message says why."""


@dataclass(frozen=True)
class Comparison:
    """`actual <op> value`; `text` is how the pack wrote it, for messages."""

    op: str  # one of < <= > >= == != (plain values are ==)
    value: Any
    text: str

    def holds(self, actual: Any) -> bool:
        """Whether `actual` satisfies the comparison."""
        if self.op == "==":
            return equal(self.value, actual)
        if self.op == "!=":
            return not equal(self.value, actual)
        if not is_number(actual):
            return False  # a missing or non-numeric value is never "<= 300"
        return _ORDERING[self.op](float(actual), float(self.value))

    def __str__(self) -> str:
        return self.text


def parse_comparison(raw: Any) -> Comparison:
    """Read an expected value; ComparisonError when a comparison is malformed."""
    from rb import source

    if not isinstance(raw, str):
        return Comparison("==", raw, _show(raw))
    found = _COMPARISON.fullmatch(raw)
    if found is None:
        return Comparison("==", raw, raw)
    op, rest = found.group(1), found.group(2)
    if not rest:
        raise ComparisonError(f"{raw!r} has nothing to compare with; write e.g. '{op} 300'")
    try:
        value = source.load_data(rest, "<comparison>")
    except ValueError:
        value = rest  # not a scalar YAML can read: keep the text
    if isinstance(value, dict | list):
        value = rest  # "== [1" and the like stay text; lists are written as plain values
    if op in _ORDERING and not is_number(value):
        raise ComparisonError(
            f"{raw!r} compares with {rest!r}, which is not a number; <, <=, > and >= need a number"
        )
    return Comparison(op, value, f"{op} {rest}")


def is_number(value: Any) -> bool:
    """An int or float, but not a bool (YAML `true` is not 1 here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(expected: Any, actual: Any) -> bool:
    """Equality as data: numbers by value (195 == 195.0, with float rounding
    tolerated), booleans only with booleans, lists and mappings item by item."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if is_number(expected) and is_number(actual):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            equal(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            equal(e, a) for e, a in zip(expected, actual, strict=True)
        )
    return type(expected) is type(actual) and bool(expected == actual)


def _show(value: Any) -> str:
    from rb.report import short

    return short(value)
