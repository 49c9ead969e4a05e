"""What the engine publishes. Console, reports and the recorder subscribe.

Payloads are already masked: a secret's value never leaves the engine in an
event, so no subscriber can leak it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RunStarted:
    execution_id: str
    runbook_id: str
    runbook_version: str
    started_at: str
    world: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AssumptionChecked:
    assumption_id: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    step_id: str
    attempt: int
    item_index: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptFailed:
    step_id: str
    attempt: int
    error: str
    item_index: int | None = None


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    step_id: str
    next_attempt: int
    delay_seconds: float


@dataclass(frozen=True, slots=True)
class StepSucceeded:
    step_id: str
    duration_seconds: float
    attempts: int
    summary: str
    inputs: Any
    outputs: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StepSkipped:
    step_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class StepFailed:
    step_id: str
    duration_seconds: float
    attempts: int
    error: str
    on_failure: str
    inputs: Any = None
    error_kind: str = "error"  # one of rb.errors.ERROR_KINDS


@dataclass(frozen=True, slots=True)
class StepRestored:
    """A step finished in an earlier start of this execution: taken from its
    recording, not run again (no side effect is repeated)."""

    step_id: str
    status: str  # succeeded | skipped
    summary: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepWaiting:
    """A step parked the run: it waits for an approval or an event."""

    step_id: str
    waiting_for: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RunControlled:
    """The run was asked to stop: cancel, pause, or its timeout_seconds passed."""

    action: str  # cancel | pause | timeout
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StepRolledBack:
    step_id: str
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class KpiChecked:
    name: str
    measured: float | None
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    execution_id: str
    # success | failure | aborted | waiting | cancelled | timed_out
    status: str
    duration_seconds: float
    error: str = ""
    # What the run read of its surroundings: environment values (masked) and
    # the names of the secrets, never their values.
    env_read: Mapping[str, str] = field(default_factory=dict)
    secrets_read: tuple[str, ...] = ()
    # What a `waiting` run waits for (WaitingFor.to_json() of each).
    waiting_for: tuple[Mapping[str, Any], ...] = ()


Event = (
    RunStarted
    | AssumptionChecked
    | StepStarted
    | AttemptFailed
    | RetryScheduled
    | StepSucceeded
    | StepSkipped
    | StepFailed
    | StepRolledBack
    | StepRestored
    | StepWaiting
    | RunControlled
    | KpiChecked
    | RunFinished
)
Listener = Callable[[Event], None]


class EventBus:
    """Delivers each event to every listener, in subscription order."""

    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self._listeners = list(listeners or [])

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)
