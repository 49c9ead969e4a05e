"""Small helpers for the words rb prints."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """`1 poll`, `2 polls`: the count with the word, plural unless exactly one."""
    return f"{count} {word}{'' if count == 1 else 's'}"
