"""Compiled schema validators are cached on disk; a broken entry is rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from rb.jsonschema_check import compile_validator

SCHEMA = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}


def test_validator_is_cached_and_a_corrupt_entry_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RB_CACHE_DIR", str(tmp_path))
    validate = compile_validator(SCHEMA)
    validate({"a": 1})
    (entry,) = (tmp_path / "validators").iterdir()
    entry.write_bytes(b"not marshal data")
    again = compile_validator(SCHEMA)
    with pytest.raises(Exception, match="must be integer"):
        again({"a": "x"})


def test_an_unwritable_cache_only_costs_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RB_CACHE_DIR", str(blocker))
    compile_validator(SCHEMA)({"a": 2})
