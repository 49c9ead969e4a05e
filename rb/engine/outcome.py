"""The results of a run: per step, per KPI, and overall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rb.engine.waiting import WaitingFor


@dataclass
class StepOutcome:
    """Mutable while the run goes on; read-only once it has finished."""

    step_id: str
    # pending | running | succeeded | failed | skipped | waiting
    status: str = "pending"
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
    restored: bool = False  # taken from an earlier start's recording, not run
    waiting_for: WaitingFor | None = None  # why it parked the run

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


def status_text(status: str, kpis_breached: tuple[str, ...] | list[str] = ()) -> str:
    """A run's status as people read it: `success (KPI breached: min_success_rate)`.

    The status says how the procedure ended; a breached KPI is shown beside
    it rather than replacing it, so neither fact is lost.
    """
    if not kpis_breached:
        return status
    return f"{status} (KPI breached: {', '.join(kpis_breached)})"


def breached_kpis(kpis: list[dict[str, Any]] | None) -> list[str]:
    """Names of the KPIs a stored run missed (its metadata's `kpis` list)."""
    return [
        str(k.get("name"))
        for k in kpis or ()
        if not k.get("ok", True) and k.get("measured") is not None
    ]


@dataclass(frozen=True)
class ExecutionResult:
    """A finished run.

    `status` is how the procedure ended: success (every step that had to
    succeed did), failure (a step stopped it) or aborted (an assumption was
    not met). KPIs are judged beside it: `kpis_breached` names those missed,
    and `ok` (what PASS and exit code 0 need) requires none.
    """

    execution_id: str
    runbook_id: str
    # success | failure | aborted | waiting | cancelled | timed_out
    status: str
    started_at: str
    duration_seconds: float
    steps: dict[str, StepOutcome]
    assumptions: tuple[CheckResult, ...]
    kpis: tuple[CheckResult, ...]
    error: str = ""
    mask: Callable[[Any], Any] = field(default=lambda v: v, repr=False, compare=False)
    env_read: dict[str, str] = field(default_factory=dict)  # name -> value (masked)
    secrets_read: tuple[str, ...] = ()  # names only: values are never kept
    waiting_for: tuple[WaitingFor, ...] = ()  # a `waiting` run: what it waits for

    @property
    def kpis_breached(self) -> tuple[str, ...]:
        """The KPIs that were measured and missed, in the runbook's order.

        A KPI that could not be measured (its step failed or did not run) is
        not a breach; it still keeps the run from being `ok`.
        """
        return tuple(k.name for k in self.kpis if not k.ok and k.measured is not None)

    @property
    def ok(self) -> bool:
        """The procedure succeeded and every KPI was measured and met."""
        return self.status == "success" and all(k.ok for k in self.kpis)

    @property
    def status_text(self) -> str:
        """`success`, or `success (KPI breached: ...)`: see `status_text()`."""
        return status_text(self.status, self.kpis_breached)

    def outputs(self) -> dict[str, Any]:
        """Every succeeded step's outputs by step id, secrets masked."""
        return {
            sid: self.mask(o.outputs) for sid, o in self.steps.items() if o.status == "succeeded"
        }
