"""Small helpers for the words rb prints."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """`1 poll`, `2 polls`: the count with the word, plural unless exactly one."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def singular(word: str) -> str:
    """A plural English noun made singular, for counts of one: `entities` →
    `entity`, `errors` → `error`. Words that do not look plural are kept."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def count_of(count: int, noun: str) -> str:
    """`200 entities`, `1 entity`: a count with a plural noun (as a name is written)."""
    return f"{count} {singular(noun) if count == 1 else noun}"


def seconds(value: float) -> str:
    """A duration for people: `5.1s`, `0.35s`, `120s` (to 2 decimals; the exact
    value stays in JSON reports and recordings)."""
    return f"{round(value, 2):g}s"
