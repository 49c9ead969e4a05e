"""Masking secret values wherever they might surface."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# A secret is masked by its value: a one-character secret would mask every
# `a` in every output, and a short one is guessable anyway. rb refuses them.
MIN_SECRET_LENGTH = 4


def short_secrets(secrets: Mapping[str, str]) -> list[str]:
    """Names of the secrets too short to be masked reliably (empty ones aside)."""
    return sorted(k for k, v in secrets.items() if 0 < len(v) < MIN_SECRET_LENGTH)


def _encoded(value: str) -> Iterator[str]:
    """The forms a secret takes in URLs and headers, besides itself."""
    raw = value.encode()
    yield quote(value, safe="")
    yield quote_plus(value, safe="")
    for b64 in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        yield b64.decode()
        yield b64.decode().rstrip("=")


class Masker:
    """Replaces every secret's value in text and nested data.

    Shown to people (events, reports, the console) a secret becomes `***`.
    With `references=True` it becomes `${secrets.NAME}` instead: what the
    store keeps, so a recording says which secret was used without holding it,
    and a replay can put the reference (or, with --live, the value) back.
    """

    def __init__(self, secrets: Mapping[str, str], *, references: bool = False) -> None:
        # Longest first, so a secret containing another is replaced whole.
        # Encoded forms are masked as `***` even in references mode: putting
        # the plain reference back would change the text a replay sends.
        forms = {v: f"${{secrets.{k}}}" if references else MASK for k, v in secrets.items() if v}
        for v in list(forms):
            for form in _encoded(v):
                forms.setdefault(form, MASK)
        pairs = sorted(forms.items(), key=lambda p: -len(p[0]))
        self._pairs = pairs
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
