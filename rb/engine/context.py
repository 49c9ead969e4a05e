"""What a step's `run` receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rb.world.base import World


@dataclass(frozen=True)
class StepContext:
    """A step's view of the run: its id, the World, and expression evaluation.

    `evaluate(text, extra)` evaluates a lazy input (such as wait's `until`)
    with the step's scope plus `extra` names (e.g. `result`).
    """

    step_id: str
    runbook_id: str
    base_dir: Path  # the runbook's folder: relative files are read from here
    world: World
    evaluate: Callable[[str, Mapping[str, Any]], Any]
