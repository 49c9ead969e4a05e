"""The asyncio scheduler: one run of a runbook, from its start to its result.

It checks the assumptions, runs the step graph (rb.engine.dispatch: each
step starts the moment its dependencies are done), measures the KPIs and
publishes the run's start and end.

A durable run can also stop short (rb.engine.stops): a step that parks it
(an approval, an event) or a pause lets running steps finish and starts no
new ones (status `waiting`); a cancel or the runbook's `timeout_seconds`
cancels running steps (`cancelled`, `timed_out`). Restored steps, finished in
an earlier start of the execution, are taken from its recording, not run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rb.engine.checks import check_assumption, check_kpi
from rb.engine.collector import fewer_collections
from rb.engine.context import SCREENSHOT_DIR, RestoredStep, RunOptions, ScreenshotPolicy
from rb.engine.dispatch import run_graph
from rb.engine.events import (
    AssumptionChecked,
    EventBus,
    KpiChecked,
    RunFinished,
    RunStarted,
)
from rb.engine.outcome import CheckResult, ExecutionResult, StepOutcome
from rb.engine.scope import RunScope
from rb.engine.secrets import Masker
from rb.engine.step_runner import RunState, skip
from rb.engine.stops import GraphEnd
from rb.model import Runbook
from rb.step_type import StepType
from rb.world.base import World


async def execute(
    runbook: Runbook,
    world: World,
    *,
    params: Mapping[str, Any],
    step_types: Mapping[str, StepType],
    bus: EventBus | None = None,
    max_parallel: int | None = None,
    options: RunOptions | None = None,
    restored: Mapping[str, RestoredStep] | None = None,
) -> ExecutionResult:
    """Run a validated runbook in `world`; publishes events, returns the result.

    `restored` steps finished in an earlier start of the execution: they are
    taken as done (StepRestored) and not run, and the rest runs (a resume).
    """
    with fewer_collections():
        return await _execute(
            runbook, world, params, step_types, bus, max_parallel, options, restored
        )


async def _execute(
    runbook: Runbook,
    world: World,
    params: Mapping[str, Any],
    step_types: Mapping[str, StepType],
    bus: EventBus | None,
    max_parallel: int | None,
    options: RunOptions | None,
    restored: Mapping[str, RestoredStep] | None,
) -> ExecutionResult:
    bus = bus or EventBus()
    options = options or RunOptions()
    masker = Masker(world.secrets)
    execution_id = options.execution_id or world.new_id()
    started_at = options.started_at or world.now().isoformat()
    start = world.monotonic()
    outcomes = {s.id: StepOutcome(s.id) for s in runbook.steps}

    def execution() -> dict[str, Any]:
        return {
            "id": world.observe("execution.id", execution_id),
            "runbook_id": runbook.id,
            "started_at": world.observe("execution.started_at", started_at),
            "duration": world.observe("execution.duration", round(world.monotonic() - start, 6)),
        }

    scope = RunScope(
        params=params,
        env=world.env,
        secrets=world.secrets,
        outcomes=outcomes,
        declared_outputs={s.id: frozenset(o.name for o in s.outputs) for s in runbook.steps},
        execution=execution,
    )
    state = RunState(
        runbook=runbook,
        world=world,
        scope=scope,
        masker=masker,
        bus=bus,
        outcomes=outcomes,
        step_types=step_types,
        base_dir=Path(runbook.source.path).resolve().parent,
        jitter=options.jitter,
        screenshots=options.screenshots or ScreenshotPolicy(SCREENSHOT_DIR / runbook.id),
    )
    bus.publish(
        RunStarted(
            execution_id,
            runbook.id,
            runbook.version,
            started_at,
            options.world,
            masker.data(dict(params)),
        )
    )

    # Whether an assumption held depends on the world at that moment: it is an
    # observation, so a replay sees the original verdict.
    assumptions = tuple(
        _observed_check(world, check_assumption(a, world.facts, scope.resolver()))
        for a in (runbook.assumptions if options.check_assumptions else ())
    )
    for a in assumptions:
        bus.publish(AssumptionChecked(a.name, a.ok, masker.text(a.detail)))
    unmet = [a for a in assumptions if not a.ok]
    kpis: tuple[CheckResult, ...] = ()
    end = GraphEnd()
    if unmet:
        for step in runbook.steps:
            skip(step.id, state, f"assumption {unmet[0].name!r} is not met")
        status, error = "aborted", f"assumption {unmet[0].name!r} is not met: {unmet[0].detail}"
    else:
        failed, end = await run_graph(runbook, state, max_parallel, options, restored or {})
        duration = world.monotonic() - start
        # A run that stopped short (parked, cancelled, timed out) has nothing to measure yet.
        measured = runbook.kpis if end.status is None or failed is not None else ()
        kpis = tuple(check_kpi(k, outcomes, duration, scope.resolver()) for k in measured)
        for k in kpis:
            bus.publish(KpiChecked(k.name, k.measured, k.ok, k.detail))
        missed = [k.name for k in kpis if not k.ok]
        # The status is the procedure's; a missed KPI is recorded beside it
        # (ExecutionResult.kpis_breached) and still fails the run's verdict.
        if failed is not None:
            status, error = "failure", f"step {failed.id!r} failed: {outcomes[failed.id].error}"
        elif end.status is not None:
            status, error = end.status, end.error
        elif missed:
            status, error = "success", f"KPI {missed[0]!r} is not met"
        else:
            status, error = "success", ""
    duration = world.monotonic() - start
    env_read = {k: masker.text(world.env[k]) for k in sorted(scope.env_read)}
    secrets_read = tuple(sorted(scope.secrets_read))
    waiting_for = tuple(end.waiting_for) if status == "waiting" else ()
    bus.publish(
        RunFinished(
            execution_id,
            status,
            duration,
            masker.text(error),
            env_read,
            secrets_read,
            tuple(masker.data(w.to_json()) for w in waiting_for),
        )
    )
    return ExecutionResult(
        execution_id=execution_id,
        runbook_id=runbook.id,
        status=status,
        started_at=started_at,
        duration_seconds=duration,
        steps=outcomes,
        assumptions=assumptions,
        kpis=kpis,
        error=masker.text(error),
        mask=masker.data,
        env_read=env_read,
        secrets_read=secrets_read,
        waiting_for=waiting_for,
    )


def _observed_check(world: World, check: CheckResult) -> CheckResult:
    ok = bool(world.observe(f"assumption.{check.name}", check.ok))
    if ok == check.ok:
        return check
    return CheckResult(check.name, ok, f"{check.detail} (as recorded: {'met' if ok else 'unmet'})")
