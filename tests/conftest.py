"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rb.diagnostics import Diagnostic
from rb.loader import load_text
from rb.plugins import step_types
from rb.validate import validate_loaded

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def diagnose(text: str, path: str = "test.yaml") -> list[Diagnostic]:
    """Every diagnostic rb validate reports for a runbook text."""
    return list(validate_loaded(load_text(text, path), step_types()).diagnostics)


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
