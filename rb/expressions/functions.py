"""The functions expressions may call. Nothing else is callable."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rb.expressions.limits import MAX_INT_DIGITS, check_size


def _len(x: str | Sequence[Any] | Mapping[str, Any]) -> int:
    return len(x)


def text(x: Any) -> str:
    """How a value reads inside interpolated text."""
    if isinstance(x, str):
        return x
    if isinstance(x, bool) or x is None:
        return json.dumps(x)
    if isinstance(x, int | float):
        return repr(x) if not isinstance(x, float) or not x.is_integer() else str(int(x))
    return json.dumps(x, sort_keys=True, separators=(",", ":"))


def _round(x: float, ndigits: int = 0) -> float | int:
    # round(5, -10**9) computes 10**(10**9) first: bound the digits.
    if isinstance(ndigits, int) and abs(ndigits) > MAX_INT_DIGITS:
        raise ValueError(f"digits must be between -{MAX_INT_DIGITS} and {MAX_INT_DIGITS}")
    return round(x) if ndigits == 0 else round(x, ndigits)


def _unique(xs: Iterable[Any]) -> list[Any]:
    # A set for hashable items (same equality as `==`), JSON text for lists
    # and mappings: linear, where `x not in out` was quadratic.
    seen: set[Any] = set()
    out: list[Any] = []
    for x in xs:
        key = x if not isinstance(x, list | dict) else ("\0json", text(x))
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _sum(xs: Iterable[Any]) -> Any:
    items = list(xs)
    # Numbers and true/false (counted as 1 and 0); adding lists or text
    # with sum() would build values quadratically.
    if not all(isinstance(x, int | float) for x in items):
        raise TypeError("sum() adds numbers (and true/false) only")
    return sum(items)


def _replace(s: str, old: str, new: str) -> str:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
        count = s.count(old) if old else len(s) + 1
        check_size(len(s) + count * (len(new) - len(old)))
    return s.replace(old, new)


def _join(xs: Sequence[Any], sep: str = "") -> str:
    parts = [text(x) for x in xs]
    check_size(sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0))
    return sep.join(parts)


def _coalesce(*xs: Any) -> Any:
    return next((x for x in xs if x is not None), None)


def _min(*xs: Any) -> Any:
    return min(xs[0]) if len(xs) == 1 else min(xs)


def _max(*xs: Any) -> Any:
    return max(xs[0]) if len(xs) == 1 else max(xs)


def _int(x: Any) -> int:
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError("cannot turn infinity or NaN into an integer")
    if isinstance(x, str) and len(x.strip()) > MAX_INT_DIGITS:
        raise ValueError(f"text {x[:20]!r}... has more than {MAX_INT_DIGITS} digits")
    return int(x)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "min": _min,
    "max": _max,
    "sum": _sum,
    "round": _round,
    "abs": abs,
    "int": _int,
    "float": float,
    "str": text,
    "bool": bool,
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "strip": lambda s: s.strip(),
    "startswith": lambda s, prefix: s.startswith(prefix),
    "endswith": lambda s, suffix: s.endswith(suffix),
    "replace": _replace,
    "split": lambda s, sep=None: s.split(sep),
    "join": _join,
    "keys": lambda m: list(m.keys()),
    "values": lambda m: list(m.values()),
    "sorted": sorted,
    "unique": _unique,
    "any": any,
    "all": all,
    "coalesce": _coalesce,
    "json": lambda x: json.dumps(x, sort_keys=True, separators=(",", ":")),
}

# One line each, for docs/authoring.md and `did you mean`.
DESCRIPTIONS: dict[str, str] = {
    "len": "len(x): number of items in a list or mapping, or characters in text",
    "min": "min(list) or min(a, b, ...): smallest value",
    "max": "max(list) or max(a, b, ...): largest value",
    "sum": "sum(list): total of a list of numbers",
    "round": "round(x, digits=0): rounded number",
    "abs": "abs(x): absolute value",
    "int": "int(x): whole number from a number or text",
    "float": "float(x): number from text",
    "str": "str(x): text; lists and mappings become compact JSON",
    "bool": "bool(x): true unless x is false, 0, empty or null",
    "lower": "lower(s): text in lower case",
    "upper": "upper(s): text in upper case",
    "strip": "strip(s): text without leading and trailing white space",
    "startswith": "startswith(s, prefix): true if s starts with prefix",
    "endswith": "endswith(s, suffix): true if s ends with suffix",
    "replace": "replace(s, old, new): text with every old replaced by new",
    "split": "split(s, sep=None): list of parts",
    "join": "join(list, sep=''): items joined into text",
    "keys": "keys(mapping): list of keys",
    "values": "values(mapping): list of values",
    "sorted": "sorted(list): a sorted copy",
    "unique": "unique(list): items without repeats, first occurrence kept",
    "any": "any(list): true if any item is true",
    "all": "all(list): true if every item is true",
    "coalesce": "coalesce(a, b, ...): the first value that is not null",
    "json": "json(x): compact JSON text with sorted keys",
}
