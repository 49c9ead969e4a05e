"""Running one step: condition, loop, attempts with retry and timeout, outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rb.engine.context import ScreenshotPolicy, StepContext
from rb.engine.deadline import Deadline
from rb.engine.events import (
    AttemptFailed,
    EventBus,
    RetryScheduled,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    StepWaiting,
)
from rb.engine.outcome import StepOutcome
from rb.engine.outputs import OutputError, extract, non_finite_path
from rb.engine.scope import RunScope
from rb.engine.secrets import Masker
from rb.engine.summary import step_summary
from rb.engine.waiting import Park
from rb.errors import StepError
from rb.expressions import ExpressionError, Resolver, render, render_string
from rb.expressions.urls import render_url
from rb.jsonschema_check import first_problem
from rb.model import FOR_EACH_LIMIT, Runbook, Step
from rb.policies import Retry
from rb.step_type import StepType
from rb.world.base import World, WorldError


@dataclass
class RunState:
    """What every step of one run shares."""

    runbook: Runbook
    world: World
    scope: RunScope
    masker: Masker
    bus: EventBus
    outcomes: dict[str, StepOutcome]
    step_types: Mapping[str, StepType]
    base_dir: Path
    jitter: bool  # off under fixtures, so backoff delays are exact
    screenshots: ScreenshotPolicy


@dataclass(frozen=True)
class _Attempt:
    inputs: Any
    result: Any
    outputs: dict[str, Any]


async def execute_step(step: Step, state: RunState) -> None:
    """Run `step` to completion, recording its outcome and publishing events."""
    outcome = state.outcomes[step.id]
    outcome.status = "running"
    outcome.started = state.world.monotonic()
    try:
        if step.when is not None and not _condition(step, state):
            skip(step.id, state, f"condition is false: {step.when}")
            return
        if step.for_each is None:
            done = await run_attempts(step, state, {})
            outcome.inputs, outcome.result, outcome.outputs = done.inputs, done.result, done.outputs
        else:
            items = _items(step, state)
            outcome.items = len(items)
            runs = [
                await run_attempts(step, state, {"item": item, "item_index": i}, i)
                for i, item in enumerate(items)
            ]
            outcome.inputs = [r.inputs for r in runs]
            outcome.result = [r.result for r in runs]
            outcome.outputs = {o.name: [r.outputs[o.name] for r in runs] for o in step.outputs}
    except Park as park:
        # Not a failure: the run parks here and this step runs again on resume.
        outcome.status = "waiting"
        outcome.waiting_for = park.waiting_for
        outcome.finished = state.world.monotonic()
        state.bus.publish(StepWaiting(step.id, park.waiting_for.to_json()))
        return
    except StepError as exc:
        outcome.status = "failed"
        if step.for_each is None:
            outcome.result = exc.result
        outcome.error = state.masker.text(exc.message)
        outcome.error_kind = exc.kind
        outcome.finished = state.world.monotonic()
        state.bus.publish(
            StepFailed(
                step.id,
                outcome.duration,
                outcome.attempts,
                outcome.error,
                step.on_failure,
                state.masker.data(outcome.inputs),
                exc.kind,
            )
        )
        return
    outcome.status = "succeeded"
    outcome.finished = state.world.monotonic()
    outcome.summary = state.masker.text(
        step_summary(
            step,
            outcome,
            state.step_types[step.type].summarize,
            lambda text, names: render_string(text, state.scope.resolver(**names)),
        )
    )
    state.bus.publish(
        StepSucceeded(
            step.id,
            outcome.duration,
            outcome.attempts,
            outcome.summary,
            state.masker.data(outcome.inputs),
            state.masker.data(outcome.outputs),
        )
    )


def skip(step_id: str, state: RunState, reason: str) -> None:
    """Mark a step skipped and say why."""
    outcome = state.outcomes[step_id]
    outcome.status = "skipped"
    outcome.reason = reason
    state.bus.publish(StepSkipped(step_id, reason))


async def run_attempts(
    step: Step,
    state: RunState,
    extra: Mapping[str, Any],
    item_index: int | None = None,
    *,
    retry: Retry | None = None,
    event_id: str | None = None,
) -> _Attempt:
    """Attempts with exponential backoff until one succeeds or retries run out."""
    retry = retry or step.retry
    sid = event_id or step.id
    outcome = state.outcomes.get(sid)
    for attempt in range(1, retry.max_attempts + 1):
        if outcome is not None:
            outcome.attempts += 1
        state.bus.publish(StepStarted(sid, attempt, item_index))
        try:
            with Deadline(step.timeout_seconds):
                return await _attempt(step, state, extra)
        except TimeoutError:
            error = StepError(f"timed out after {step.timeout_seconds:g}s", kind="timeout")
        except StepError as exc:
            error = exc
        message = state.masker.text(error.message)
        state.bus.publish(AttemptFailed(sid, attempt, message, item_index))
        if not error.retryable or attempt == retry.max_attempts:
            if retry.max_attempts > 1 and error.retryable:
                raise StepError(
                    f"{message} (after {attempt} attempts)", kind=error.kind, result=error.result
                ) from None
            raise StepError(
                message, retryable=False, kind=error.kind, result=error.result
            ) from None
        delay = retry.delay(attempt)
        if retry.jitter and state.jitter:
            delay *= 0.5 + state.world.random()
        state.bus.publish(RetryScheduled(sid, attempt + 1, delay))
        await state.world.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _render_input(step_type: StepType, key: str, value: Any, resolver: Resolver) -> Any:
    if key in step_type.lazy_inputs:
        return value  # the step evaluates it
    url_part = step_type.url_inputs.get(key)
    if url_part is not None:
        return render_url(value, resolver, start="path" if url_part == "path" else "url")
    return render(value, resolver)


async def _attempt(step: Step, state: RunState, extra: Mapping[str, Any]) -> _Attempt:
    step_type = state.step_types[step.type]
    resolver = state.scope.resolver(**extra)
    try:
        inputs = {k: _render_input(step_type, k, v, resolver) for k, v in step.inputs.items()}
    except ExpressionError as exc:
        raise StepError(f"inputs: {exc.message}", retryable=False, kind="invalid_input") from None
    problem = first_problem(step_type.input_schema, inputs)
    if problem is not None:
        raise StepError(
            f"inputs do not fit {step.type}: {problem}", retryable=False, kind="invalid_input"
        )
    result = state.world.stub(step.id)
    if result is None:
        if step_type.run is None:
            raise StepError(f"step type {step.type!r} cannot run here", retryable=False)

        def evaluate(text: str, names: Mapping[str, Any]) -> Any:
            return render_string(text, state.scope.resolver(**extra, **names))

        ctx = StepContext(
            step.id, state.runbook.id, state.base_dir, state.world, evaluate, state.screenshots
        )
        try:
            result = await step_type.run(ctx, inputs)
        except WorldError as exc:
            raise StepError(exc.message, retryable=exc.retryable, kind=exc.kind) from None
        except ExpressionError as exc:
            raise StepError(exc.message, retryable=False, kind="expression") from None
    try:
        outputs = (
            extract(
                step.outputs,
                result,
                state.scope.resolver(**extra, result=result),
                step_type.query_field,
            )
            if step.outputs
            else {}
        )
    except (OutputError, ExpressionError) as exc:
        raise StepError(f"outputs: {exc}", retryable=False, kind="output") from None
    # NaN and infinity (a JSON body may hold them) cannot be recorded: PostgreSQL
    # refuses them and SQLite would keep invalid JSON that replay cannot repeat.
    where = non_finite_path(result, "$") or non_finite_path(outputs, "outputs")
    if where is not None:
        raise StepError(
            f"{where} is not a finite number (NaN or infinity), which a recording cannot hold",
            retryable=False,
            kind="output",
        )
    return _Attempt(inputs, result, outputs)


def _condition(step: Step, state: RunState) -> bool:
    if isinstance(step.when, bool):
        return step.when
    assert step.when is not None
    try:
        return bool(render_string(step.when, state.scope.resolver()))
    except ExpressionError as exc:
        raise StepError(f"when: {exc.message}", retryable=False, kind="expression") from None


def _items(step: Step, state: RunState) -> list[Any]:
    try:
        items = (
            render_string(step.for_each, state.scope.resolver())
            if isinstance(step.for_each, str)
            else step.for_each
        )
    except ExpressionError as exc:
        raise StepError(f"for_each: {exc.message}", retryable=False, kind="expression") from None
    if not isinstance(items, list):
        raise StepError(
            f"for_each must give a list, got {type(items).__name__}",
            retryable=False,
            kind="expression",
        )
    if len(items) > FOR_EACH_LIMIT:
        raise StepError(
            f"for_each gave {len(items)} items; the hard limit is {FOR_EACH_LIMIT}",
            retryable=False,
            kind="expression",
        )
    return items
