"""Masking secret values wherever they might surface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "***"


class Masker:
    """Replaces every secret's value in text and nested data.

    Shown to people (events, reports, the console) a secret becomes `***`.
    With `references=True` it becomes `${secrets.NAME}` instead: what the
    store keeps, so a recording says which secret was used without holding it,
    and a replay can put the reference (or, with --live, the value) back.
    """

    def __init__(self, secrets: Mapping[str, str], *, references: bool = False) -> None:
        # Longest first, so a secret containing another is replaced whole.
        pairs = sorted(((v, k) for k, v in secrets.items() if v), key=lambda p: -len(p[0]))
        self._pairs = [(v, f"${{secrets.{k}}}" if references else MASK) for v, k in pairs]

    def text(self, value: str) -> str:
        for secret, replacement in self._pairs:
            if secret in value:
                value = value.replace(secret, replacement)
        return value

    def data(self, value: Any) -> Any:
        """A masked copy of JSON-like data (strings, lists, mappings)."""
        if not self._pairs:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value
