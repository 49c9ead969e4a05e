"""Differences between two JSON documents, by JSON path, with short values.

Shared by golden files, replays and fixture mismatches, so a difference in a
20 KB body reads as the few paths that differ, never as the whole body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # one side has no value at this path


@dataclass(frozen=True)
class Difference:
    """One path where two documents differ; `items` marks a list-length difference."""

    path: str
    expected: Any
    actual: Any
    items: bool = False

    def __str__(self) -> str:
        """`PATH: expected X, got Y` (the form golden files and replays use)."""
        if self.items:
            return f"{self.path}: expected {self.expected} items, got {self.actual}"
        if self.actual is MISSING:
            return f"{self.path}: expected {short(self.expected)}, missing"
        if self.expected is MISSING:
            return f"{self.path}: not expected, got {short(self.actual)}"
        return f"{self.path}: expected {short(self.expected)}, got {short(self.actual)}"

    def between(self, left: str, right: str, width: int = 40) -> str:
        """`PATH (LEFT X, RIGHT Y)`, e.g. `$.json.id (fixture 1, request 2)`."""
        a, b = (
            (f"{v} items" if self.items else "nothing" if v is MISSING else short(v, width))
            for v in (self.expected, self.actual)
        )
        return f"{self.path} ({left} {a}, {right} {b})"


def differences(expected: Any, actual: Any, path: str = "$") -> Iterator[Difference]:
    """Each difference between two documents, in a stable order."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if str(key).isidentifier() else f"{path}[{json.dumps(key)}]"
            if key not in actual:
                yield Difference(sub, expected[key], MISSING)
            elif key not in expected:
                yield Difference(sub, MISSING, actual[key])
            else:
                yield from differences(expected[key], actual[key], sub)
    elif isinstance(expected, list) and isinstance(actual, list):
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            yield from differences(e, a, f"{path}[{i}]")
        if len(expected) != len(actual):
            yield Difference(path, len(expected), len(actual), items=True)
    elif expected != actual or type(expected) is not type(actual):
        yield Difference(path, expected, actual)


def short(value: Any, width: int = 80) -> str:
    """`value` as compact JSON, cut to `width` characters for one-line messages."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."
