"""Splitting strings into literal text and `${...}` expressions.

A string that is exactly one `${...}` is a *whole* expression: its value keeps
its type (a list stays a list). Anything else interpolates: each expression's
value is turned into text. `$${` writes a literal `${`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rb.expressions.errors import ExpressionError

_OPEN = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True, slots=True)
class Segment:
    """Literal text (`expr` is None) or one expression with its offset."""

    text: str
    expr: str | None = None
    offset: int = 0  # where `expr` starts inside the original string


def has_expression(value: str) -> bool:
    """Cheap test used on every string: could it hold an expression?"""
    return "${" in value


def split(value: str) -> list[Segment]:
    """Split `value` into segments.

    Raises ExpressionError (offset into `value`) for an unterminated expression.
    """
    return list(_split(value))


@lru_cache(maxsize=4096)
def _split(value: str) -> tuple[Segment, ...]:
    # A runbook's strings are rendered on every run (and for every item of a
    # for_each); scanning them character by character each time is wasted.
    segments: list[Segment] = []
    text: list[str] = []
    i, n = 0, len(value)
    while i < n:
        j = value.find("$", i)
        if j < 0:
            text.append(value[i:])
            break
        text.append(value[i:j])
        if value.startswith("$${", j):
            text.append("${")
            i = j + 3
            continue
        if not value.startswith("${", j):
            text.append("$")
            i = j + 1
            continue
        end = _closing_brace(value, j + 2)
        if text and "".join(text):
            segments.append(Segment("".join(text)))
        text = []
        source = value[j + 2 : end]
        if not source.strip():
            raise ExpressionError("empty expression ${}: write a name such as ${params.x}", j)
        segments.append(Segment(value[j : end + 1], source, j + 2))
        i = end + 1
    if text and "".join(text):
        segments.append(Segment("".join(text)))
    return tuple(segments)


def whole_expression(value: str) -> Segment | None:
    """The single expression if `value` is exactly `${...}`, else None."""
    if not (value.startswith("${") and value.endswith("}")):
        return None
    segments = split(value)
    if len(segments) == 1 and segments[0].expr is not None:
        return segments[0]
    return None


def _closing_brace(value: str, start: int) -> int:
    """Index of the `}` closing an expression that starts at `start`."""
    stack: list[str] = []
    quote = ""
    i = start
    while i < len(value):
        c = value[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in _OPEN:
            stack.append(_OPEN[c])
        elif c in "}])":
            if not stack:
                if c == "}":
                    return i
                raise ExpressionError(f"unbalanced {c!r} in expression", i)
            if stack.pop() != c:
                raise ExpressionError(f"unbalanced {c!r} in expression", i)
        i += 1
    raise ExpressionError("expression is not closed: add the missing '}'", start - 2)
