"""What a step's `run` receives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rb.world.base import World

# Every run writes its shots to .rb/screenshots/<runbook-id>/<step-id>.png, so
# a replay reports the same paths as the run it replays.
SCREENSHOT_DIR = Path(".rb") / "screenshots"


@dataclass(frozen=True)
class ScreenshotPolicy:
    """Where UI steps write their images, and whether they compare with baselines.

    `rb test` compares with screenshots/<runbook-id>/<step-id>.png; `rb run`
    only keeps the shots.
    """

    output_dir: Path  # the actual (and diff) images
    baseline_dir: Path | None = None  # compare with baselines here
    update: bool = False  # accept the new shots as baselines (--update-snapshots)
    ci: bool = False  # a missing baseline fails instead of being written


class ControlSource(Protocol):
    """Where a running execution hears `rb cancel` and `rb pause` (rb.service.control)."""

    async def next_action(self) -> str:
        """Wait for the next request and return it: `cancel` or `pause`."""
        ...


@dataclass(frozen=True)
class RestoredStep:
    """A step that finished in an earlier start of the execution, as recorded."""

    step_id: str
    status: str  # succeeded | skipped
    outputs: Mapping[str, Any]
    summary: str = ""
    attempts: int = 0
    inputs: Any = None
    reason: str = ""  # why it was skipped


@dataclass(frozen=True)
class RunOptions:
    """How the caller (rb.service) wants a run driven.

    The engine never asks the World what kind it is: the label events carry,
    whether retry delays are jittered and where screenshots go are decided by
    whoever built the World, and handed down here.
    """

    world: str = "fixture"  # the label RunStarted carries: live, fixture or replay
    # Jitter spreads the retries of many live runs; under a fixture it stays
    # off so virtual time, and so the recorded timings, are exact.
    jitter: bool = False
    screenshots: ScreenshotPolicy | None = None  # default: .rb/screenshots/<runbook-id>/
    control: ControlSource | None = None  # cancel and pause requests, when someone can send them
    # A resumed execution keeps its id and start; None: a new run.
    execution_id: str | None = None
    started_at: str | None = None
    # A resume does not check the assumptions again: they were met when the run began.
    check_assumptions: bool = True
    # Cancelling a parked run (rb.service.durable): only restored steps are
    # taken up, then the run ends cancelled (with rollbacks under on_cancel).
    cancelled: str | None = None


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
    screenshots: ScreenshotPolicy
