"""Masking secret values wherever they might surface."""

from __future__ import annotations

import json
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
        # A secret JSON would escape cannot be found in serialized text as is.
        self._findable = all(json.dumps(v, ensure_ascii=False)[1:-1] == v for v, _ in pairs)

    def text(self, value: str) -> str:
        for secret, replacement in self._pairs:
            if secret in value:
                value = value.replace(secret, replacement)
        return value

    def data(self, value: Any) -> Any:
        """JSON-like data (strings, lists, mappings) with every secret masked.

        A masked copy where a secret occurs; `value` itself where none does.
        """
        if not self._pairs:
            return value
        if self._findable and not isinstance(value, str):
            # One C-speed serialization to look for the secrets, instead of
            # walking the structure in Python when (as usual) none is there.
            try:
                text = json.dumps(value, ensure_ascii=False)
            except (TypeError, ValueError):
                pass
            else:
                if not any(secret in text for secret, _ in self._pairs):
                    return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self._walk(k): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        return value
