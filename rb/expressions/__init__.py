"""`${...}` expressions: parsing, static references, sandboxed evaluation.

See `rb.expressions.names` for what names mean and docs/authoring.md for the
user-facing rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rb.expressions.errors import ExpressionError
from rb.expressions.evaluator import Resolver, evaluate
from rb.expressions.functions import text
from rb.expressions.syntax import Expression, Reference, parse
from rb.expressions.template import Segment, has_expression, split, whole_expression

__all__ = [
    "Expression",
    "ExpressionError",
    "Reference",
    "Resolver",
    "Segment",
    "evaluate",
    "has_expression",
    "parse",
    "render",
    "render_string",
    "split",
    "text",
    "whole_expression",
]


def render_string(value: str, resolve: Resolver) -> Any:
    """Evaluate the expressions in one string.

    A string that is exactly one `${...}` gives that expression's value with
    its type; otherwise each expression's value is interpolated as text.
    """
    if not has_expression(value):
        return value
    whole = whole_expression(value)
    if whole is not None and whole.expr is not None:
        return _eval(whole, resolve)
    parts = []
    for segment in split(value):
        parts.append(segment.text if segment.expr is None else _text(segment, resolve))
    return "".join(parts)


def render(value: Any, resolve: Resolver) -> Any:
    """Evaluate every expression inside a value (strings, lists, mappings)."""
    if isinstance(value, str):
        return render_string(value, resolve)
    if isinstance(value, Mapping):
        return {k: render(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, resolve) for v in value]
    return value


def _text(segment: Segment, resolve: Resolver) -> str:
    value = _eval(segment, resolve)
    try:
        return text(value)
    except (RecursionError, ValueError) as exc:  # deep data; JSON refuses NaN
        why = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        raise ExpressionError(f"the value is {why} to put in text", segment.offset) from None


def _eval(segment: Segment, resolve: Resolver) -> Any:
    assert segment.expr is not None
    try:
        return evaluate(parse(segment.expr), resolve)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, segment.offset + exc.offset) from None
