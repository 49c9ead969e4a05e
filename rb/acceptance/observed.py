"""What a finished run showed, in the terms an acceptance pack speaks.

KPIs: the runbook's declared KPIs (their measured values), the run's
`duration_seconds`, and every metric a `metrics_publish` step published.
Errors: one per failed step (its kind) plus one per problem a succeeded
`schema_check` step found in the items it set aside (`schema_validation`).
Step states: succeeded, failed, skipped, or rolled_back (succeeded, then
compensated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rb.engine.outcome import ExecutionResult, StepOutcome
from rb.model import Runbook

DURATION = "duration_seconds"
# Built-in step types whose results the pack reads: published metrics are
# KPIs, and the items a schema check set aside are errors of the run.
METRICS_TYPE = "metrics_publish"
SCHEMA_TYPE = "schema_check"
RAN = ("succeeded", "failed", "rolled_back")  # what `ran` accepts


@dataclass(frozen=True)
class RunError:
    """One error of a run: which step, what kind (rb.errors.ERROR_KINDS), the message."""

    step: str
    type: str
    message: str


def kpi_names(runbook: Runbook) -> list[str]:
    """Every name `kpis:` may use for this runbook, sorted."""
    names = {k.name for k in runbook.kpis} | {DURATION}
    for step in runbook.steps:
        metrics = step.inputs.get("metrics") if step.type == METRICS_TYPE else None
        if isinstance(metrics, Mapping):
            names.update(str(name) for name in metrics)
    return sorted(names)


def kpi_values(runbook: Runbook, result: ExecutionResult) -> dict[str, float]:
    """Measured values by name; a KPI that could not be measured is absent."""
    values: dict[str, float] = {}
    for step in runbook.steps:
        outcome = result.steps.get(step.id)
        if step.type != METRICS_TYPE or outcome is None or outcome.status != "succeeded":
            continue
        inputs = outcome.inputs if isinstance(outcome.inputs, list) else [outcome.inputs]
        for sent in inputs:  # a for_each step publishes once per item: the last wins
            if isinstance(sent, Mapping) and isinstance(sent.get("metrics"), Mapping):
                values.update({str(k): _number(v) for k, v in sent["metrics"].items()})
    values[DURATION] = result.duration_seconds
    # Declared KPIs win over a published metric of the same name.
    values.update({k.name: k.measured for k in result.kpis if k.measured is not None})
    return values


def run_errors(runbook: Runbook, result: ExecutionResult) -> tuple[RunError, ...]:
    """The run's errors, in step order."""
    found: list[RunError] = []
    for step in runbook.steps:
        outcome = result.steps.get(step.id)
        if outcome is None:
            continue
        if outcome.status == "failed":
            found.append(RunError(step.id, outcome.error_kind or "error", outcome.error))
        elif outcome.status == "succeeded" and step.type == SCHEMA_TYPE:
            found.extend(
                RunError(step.id, "schema_validation", _item_error(e))
                for e in _set_aside(outcome.result)
            )
    return tuple(found)


def step_state(outcome: StepOutcome) -> str:
    """succeeded, failed, skipped or rolled_back (pending/running only if the run broke off)."""
    if outcome.status == "succeeded" and outcome.rolled_back:
        return "rolled_back"
    return outcome.status


def describe_step(outcome: StepOutcome | None) -> str:
    """The state with why, for messages: "skipped (not run: step 'x' failed ...)"."""
    if outcome is None:
        return "not in the run"
    state = step_state(outcome)
    why = outcome.error if outcome.status == "failed" else outcome.reason
    first = why.splitlines()[0] if why else ""
    return f"{state} ({first[:117] + '...' if len(first) > 120 else first})" if first else state


def _set_aside(result: Any) -> list[Any]:
    results = result if isinstance(result, list) else [result]  # for_each: one per item
    return [
        e
        for r in results
        if isinstance(r, Mapping) and isinstance(r.get("errors"), list)
        for e in r["errors"]
    ]


def _item_error(error: Any) -> str:
    if isinstance(error, Mapping):
        return f"item {error.get('index')} {error.get('path')}: {error.get('message')}"
    return str(error)


def _number(value: Any) -> float:
    return float(int(value)) if isinstance(value, bool) else float(value)


SCREENSHOT_TYPE = "ui_screenshot"


def screenshot_step(runbook: Runbook, key: str) -> str | None:
    """The step a `screenshots:` key means: a step id, or a baseline's name.

    A key that is no step id names a baseline (the seed's `entity-list:`); it
    belongs to the runbook's screenshot step when there is exactly one. With
    several, keys must be step ids (None: the pack says which are allowed).
    """
    if any(s.id == key for s in runbook.steps):
        return key
    shots = [s.id for s in runbook.steps if s.type == SCREENSHOT_TYPE]
    return shots[0] if len(shots) == 1 else None
