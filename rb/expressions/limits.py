"""Bounds on the work one expression may do, and on the values it may build.

An expression has no loops, so its cost comes from the size of the values it
builds: repetition (`[x] * n`, `'a' * n`), concatenation and functions such
as `join` and `replace`. Every value an operation builds is weighed (items
and characters, counted through nested lists and mappings, so a list holding
one big list many times weighs what it would take to compare or print it);
one value may weigh at most MAX_SIZE and all the values of one evaluation at
most MAX_WORK. Weighing stops as soon as a bound is passed, so it is itself
bounded. Numbers must stay real, finite and below MAX_INT_DIGITS digits: a
NaN or infinity cannot be stored as JSON (PostgreSQL refuses it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_SIZE = 1_000_000  # items or characters in one value an expression builds
MAX_WORK = 4_000_000  # items or characters built over one evaluation
MAX_DEPTH = 100  # nesting of operators, calls and lookups in one expression
MAX_INT_DIGITS = 1000
_MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10))


class LimitExceeded(Exception):
    """A value breaks a bound; the message says which and what to do."""


def number_problem(value: Any) -> str | None:
    """Why `value` (a number) cannot be an expression's result, or None."""
    if isinstance(value, complex):
        return "the result is not a real number (e.g. a fractional power of a negative number)"
    if isinstance(value, float) and not math.isfinite(value):
        return "the result is not a finite number (infinity or NaN cannot be stored)"
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        return f"the result has more than {MAX_INT_DIGITS} digits"
    return None


def weigh(value: Any, limit: int) -> int:
    """Items and characters in `value`, counted through nesting.

    Raises LimitExceeded once the count passes `limit` (so the walk costs at
    most about `limit` steps), or when a number inside is not storable. The
    inner loop handles plain items inline: it runs once per item built.
    """
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is str:
            total += len(v)
        elif kind is list or kind is tuple or kind is dict:
            total += len(v)
            if total > limit:
                break
            for x in v.values() if kind is dict else v:
                k = type(x)
                if k is str:
                    total += len(x)
                elif k is int:
                    if x.bit_length() > _MAX_INT_BITS:
                        stack.append(x)
                elif k is float:
                    if x - x != 0:  # NaN or infinity
                        stack.append(x)
                elif k is not bool and x is not None:
                    stack.append(x)
        elif isinstance(v, Mapping):
            total += len(v)  # a run's lazy view (steps, env): reading it has effects
        else:
            problem = number_problem(v)
            if problem is not None:
                raise LimitExceeded(problem)
        if total > limit:
            break
    if total > limit:
        raise LimitExceeded(
            f"the value built here is too large (more than {limit} items or characters)"
        )
    return total


def depth(node: Any) -> int:
    """Deepest nesting of a syntax tree, measured without recursion."""
    import ast

    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(n))
    return deepest


def check_size(size: int) -> None:
    """Refuse, before building it, a value of `size` items or characters."""
    if size > MAX_SIZE:
        raise LimitExceeded(
            f"the value built here is too large (more than {MAX_SIZE} items or characters)"
        )
