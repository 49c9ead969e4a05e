"""The JSON Schemas rb ships (the runbook and fixture formats)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent


@cache
def load(name: str) -> dict[str, Any]:
    """The schema in `<name>.schema.json`, parsed once per process."""
    with (FOLDER / f"{name}.schema.json").open(encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema
