"""The results of a run: per step, per KPI, and overall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepOutcome:
    """Mutable while the run goes on; read-only once it has finished."""

    step_id: str
    status: str = "pending"  # pending | running | succeeded | failed | skipped
    outputs: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    inputs: Any = None
    error: str = ""
    error_kind: str = ""  # one of rb.errors.ERROR_KINDS when failed
    reason: str = ""  # why it was skipped
    attempts: int = 0  # all attempts, over every for_each item
    items: int | None = None  # for_each items, when the step loops
    started: float | None = None
    finished: float | None = None
    summary: str = ""
    rolled_back: bool = False

    @property
    def duration(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started


@dataclass(frozen=True)
class CheckResult:
    """An assumption or KPI check."""

    name: str
    ok: bool
    detail: str
    measured: float | None = None


@dataclass(frozen=True)
class ExecutionResult:
    execution_id: str
    runbook_id: str
    status: str  # success | failure | aborted
    started_at: str
    duration_seconds: float
    steps: dict[str, StepOutcome]
    assumptions: tuple[CheckResult, ...]
    kpis: tuple[CheckResult, ...]
    error: str = ""
    mask: Callable[[Any], Any] = field(default=lambda v: v, repr=False, compare=False)
    env_read: dict[str, str] = field(default_factory=dict)  # name -> value (masked)
    secrets_read: tuple[str, ...] = ()  # names only: values are never kept

    def outputs(self) -> dict[str, Any]:
        """Every succeeded step's outputs by step id, secrets masked."""
        return {
            sid: self.mask(o.outputs) for sid, o in self.steps.items() if o.status == "succeeded"
        }
