"""Limits on the shape of values rb reads from files, the command line and the network.

rb walks values recursively (schemas, expressions, masking, JSON output), so a
value nested thousands of levels deep would end in RecursionError, a crash.
Values are refused past `MAX_DEPTH` where they enter instead: a runbook or
fixture nests fewer than 20 levels, an API response rarely past 30.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 200


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Does `value` nest lists/mappings more than `limit` levels? (Iterative: safe on any depth.)"""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def non_finite(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], float]]:
    """Path and value of each NaN or infinite number in `value` (YAML `.inf`, `.nan`)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from non_finite(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from non_finite(child, (*path, i))
