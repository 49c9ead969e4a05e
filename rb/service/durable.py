"""Durable executions: resume, retry and control of a recorded run.

The recording is the checkpoint. Resuming an execution restores its finished
steps from the recording (their outputs, without running them: no side
effect is repeated) and runs the rest, recorded into the same execution as
its next start (`run_attempt` + 1). Retrying a step restores every finished
step except that one and those downstream of it. See docs/durability.md.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rb.engine.context import ControlSource, RestoredStep
from rb.engine.events import Listener
from rb.errors import UsageError
from rb.service.runner import Ran, Resuming, execute, live_world

if TYPE_CHECKING:
    from rb.model import Runbook
    from rb.store.database import Store
    from rb.store.records import Execution, StepLog
    from rb.world.base import World

# What `rb resume` takes up: a run that stopped before its end.
RESUMABLE = frozenset({"waiting", "interrupted", "failure", "timed_out"})
# What `rb retry` takes up: any run that is not going on.
RETRYABLE = frozenset({"success", "failure", "aborted", "cancelled", "interrupted", "timed_out"})
CONTROL_ACTIONS = ("cancel", "pause", "resume")


@dataclass(frozen=True)
class ControlOutcome:
    """What a control request did: `requested` (the running process acts on it),
    `done` (the store was changed at once), or `accepted` (a resume may start)."""

    execution_id: str
    action: str
    outcome: str  # requested | done | accepted
    message: str


def resume(
    execution_id: str,
    *,
    db: str | None = None,
    store: Store | None = None,
    actor: str | None = None,
    listeners: Sequence[Listener] = (),
    world: World | None = None,
    control: ControlSource | None = None,
) -> Ran:
    """Continue an interrupted, failed, timed-out or waiting execution.

    Its succeeded steps (and those skipped because their condition was
    false) are restored from the recording; every other step runs, in the
    live world unless `world` is given. UsageError when the run cannot be resumed.
    """
    store = _store(db, store)
    run = _load(store, execution_id)
    if run.status not in RESUMABLE:
        hint = (
            f"; rb retry {run.id[:8]} --step STEP runs steps again"
            if run.status in RETRYABLE
            else ""
        )
        raise UsageError(
            f"run {run.id[:8]} is {run.status}: only a waiting, interrupted, failed or "
            f"timed-out run can be resumed{hint}"
        )
    runbook = _definition(run)
    restored = _restored_steps(run)
    return _continue(
        run, runbook, restored, store, actor, listeners, world, "resume", control=control
    )


def retry(
    execution_id: str,
    step_id: str,
    *,
    db: str | None = None,
    store: Store | None = None,
    actor: str | None = None,
    listeners: Sequence[Listener] = (),
    world: World | None = None,
) -> Ran:
    """Run `step_id` and every step downstream of it again; the others are restored."""
    import networkx as nx

    store = _store(db, store)
    run = _load(store, execution_id)
    if run.status not in RETRYABLE:
        raise UsageError(
            f"run {run.id[:8]} is {run.status}: a step can be retried once the run has ended"
            + (f" (rb resume {run.id[:8]} continues it)" if run.status == "waiting" else "")
        )
    runbook = _definition(run)
    if step_id not in runbook.graph:
        known = ", ".join(s.id for s in runbook.steps)
        raise UsageError(f"runbook {runbook.id} has no step {step_id!r} (its steps: {known})")
    again = {step_id, *nx.descendants(runbook.graph, step_id)}
    restored = _restored_steps(run, again=again)
    return _continue(run, runbook, restored, store, actor, listeners, world, "retry")


def request_control(
    execution_id: str,
    action: str,
    *,
    actor: str,
    db: str | None = None,
    store: Store | None = None,
    secrets: Mapping[str, str] | None = None,
) -> ControlOutcome:
    """Ask for `action` (cancel | pause | resume) on an execution.

    A running execution's process acts on cancel and pause within a poll
    (rb.service.control). A run no process holds (waiting, interrupted,
    queued) is cancelled in the store at once. `resume` only checks that the
    run can be resumed: the caller then runs `resume`. Cancelling a parked run
    whose runbook says `on_cancel: rollback` runs its completed steps'
    rollbacks here, live (with `secrets`, default: the environment's).
    UsageError when the
    run is not in a state that allows the action.
    """
    from sqlalchemy import insert, update

    from rb.store.tables import control, executions

    if action not in CONTROL_ACTIONS:
        raise UsageError(f"unknown action {action!r}: one of {', '.join(CONTROL_ACTIONS)}")
    store = _store(db, store)
    run = _load(store, execution_id, with_steps=False)
    # A run on the queue whose job may be waiting or running: procrastinate's abort.
    if action == "cancel" and run.metadata.get("queue") and run.status in ("queued", "running"):
        _abort_job(store, run.id)
        run = _load(store, execution_id, with_steps=False)  # a worker may have just taken it
        if run.status == "cancelled":  # ... or already acted on the abort: done, not refused
            return ControlOutcome(run.id, action, "done", f"run {run.id[:8]} cancelled")
    short, status, now = run.id[:8], run.status, datetime.now(UTC)
    row = {"execution_id": run.id, "action": action, "actor_id": actor, "requested_at": now}
    if action == "resume":
        if status not in RESUMABLE:
            raise UsageError(
                f"run {short} is {status}: only a waiting, interrupted, failed or "
                "timed-out run can be resumed"
            )
        with store.begin() as conn:
            conn.execute(insert(control).values(**row, handled_at=now))
        return ControlOutcome(run.id, action, "accepted", f"run {short} resumes")
    if status == "running":
        with store.begin() as conn:
            conn.execute(insert(control).values(**row))
        verb = "stops" if action == "cancel" else "starts no new steps"
        return ControlOutcome(
            run.id, action, "requested", f"{action} requested: run {short} {verb} within a second"
        )
    if action == "cancel" and status in ("waiting", "interrupted", "queued"):
        # No process holds it: the store is the run, and it is cancelled there.
        error = f"cancelled by {actor} while {status}"
        if status != "queued" and run.world == "live" and _definition(run).on_cancel == "rollback":
            return _cancel_with_rollbacks(store, run.id, row, error, actor, secrets)
        with store.begin() as conn:
            changed = conn.execute(
                update(executions)
                .where(executions.c.id == run.id, executions.c.status == status)
                .values(
                    status="cancelled",
                    completed_at=now,
                    waiting_for=None,
                    metadata={**run.metadata, "error": error},
                )
            ).rowcount
            if changed:
                conn.execute(insert(control).values(**row, handled_at=now))
        if not changed:
            raise UsageError(f"run {short} changed while being cancelled; try again")
        return ControlOutcome(run.id, action, "done", f"run {short} cancelled ({error})")
    if action == "pause" and status == "waiting":
        raise UsageError(f"run {short} is already waiting: nothing runs to pause")
    raise UsageError(f"run {short} is {status}: it has ended, there is nothing to {action}")


# Internals. -----------------------------------------------------------------


def _abort_job(store: Store, execution_id: str) -> None:
    """procrastinate's abort: a waiting job is cancelled; a running one is asked to
    stop, which its worker turns into a cancel of the run (rb.worker.jobs.JobControl)."""
    from rb.service.enqueue import abort_jobs
    from rb.service.queue_app import queue_app

    with queue_app(store.url, max_size=1).open() as app:
        abort_jobs(app, store, execution_id)


def _cancel_with_rollbacks(
    store: Store,
    execution_id: str,
    row: Mapping[str, Any],
    error: str,
    actor: str,
    secrets: Mapping[str, str] | None,
) -> ControlOutcome:
    """Cancel a parked run as a live cancel does: its completed steps' rollbacks
    run (newest first), recorded as the execution's next start; nothing else runs."""
    from sqlalchemy import insert

    from rb.store.tables import control

    run = _load(store, execution_id)
    world = live_world_at(store, run.id, None, secrets)
    ran = _continue(
        run,
        _definition(run),
        _restored_steps(run),
        store,
        actor,
        (),
        world,
        "cancel",
        cancelled=error,
    )
    with store.begin() as conn:
        conn.execute(insert(control).values(**row, handled_at=datetime.now(UTC)))
    return ControlOutcome(
        run.id,
        "cancel",
        "done",
        f"run {run.id[:8]} {ran.result.status} ({error}); "
        "the rollbacks of its completed steps ran (on_cancel: rollback)",
    )


def live_world_at(
    store: Store, execution_id: str, now: datetime | None, secrets: Mapping[str, str] | None
) -> World | None:
    """The live world a due run resumes in; its clock reads `now` when one is given."""
    if now is None and secrets is None:
        return None  # resume's own: this environment's secrets, the real clock
    from rb.service.inputs import secrets_from
    from rb.store.queries import get_run
    from rb.world.clock import LoopClock

    run = get_run(store, execution_id, with_exchanges=False)
    facts = run.metadata.get("facts", {}) if run is not None else {}
    world = live_world(
        secrets=secrets if secrets is not None else secrets_from(os.environ, None), facts=facts
    )
    if now is not None:
        world.now = LoopClock(now).now  # from `now` on, moving as real time does
    return world


def _store(db: str | None, store: Store | None) -> Store:
    from rb.store.database import open_store

    return store if store is not None else open_store(db)


def _load(store: Store, ref: str, *, with_steps: bool = True) -> Execution:
    from rb.store.queries import get_run, reap_interrupted, resolve_id

    reap_interrupted(store)  # a run whose process died is interrupted, so resumable
    run = get_run(store, resolve_id(store, ref), with_exchanges=False)
    assert run is not None  # resolve_id found it
    if run.world == "replay":
        raise UsageError(f"run {run.id[:8]} is a replay: resume or retry the run it replays")
    return run


def _definition(run: Execution) -> Runbook:
    """The runbook as it was when the execution started: a resume runs the same procedure."""
    from rb.loader import load_text
    from rb.service.runbooks import require_valid

    return require_valid(load_text(run.definition, run.definition_path))


def _finished(log: StepLog) -> bool:
    """A step whose result stands: succeeded, or skipped by its own condition."""
    if log.status == "succeeded":
        return True
    return log.status == "skipped" and (log.skip_reason or "").startswith("condition is false")


def _restored_steps(run: Execution, again: Collection[str] = ()) -> dict[str, RestoredStep]:
    """The run's finished steps, restored from its recording, but for those run `again`."""
    return {s.step_id: _restored(s) for s in run.steps if _finished(s) and s.step_id not in again}


def _restored(log: StepLog) -> RestoredStep:
    return RestoredStep(
        step_id=log.step_id,
        status=log.status,
        outputs=dict(log.outputs or {}),
        summary=log.summary or "",
        attempts=log.attempts,
        inputs=log.inputs,
        reason=log.skip_reason or "",
    )


def _continue(
    run: Execution,
    runbook: Runbook,
    restored: Mapping[str, RestoredStep],
    store: Store,
    actor: str | None,
    listeners: Sequence[Listener],
    world: World | None,
    reason: str,
    *,
    cancelled: str | None = None,
    control: ControlSource | None = None,
) -> Ran:
    """Claim the execution (one process continues it) and run what is left
    (only the rollbacks, when `cancelled` says why the run is cancelled)."""
    from rb.engine.params import resolve_params
    from rb.service.inputs import secrets_from
    from rb.service.request import Recording, RunRequest, default_actor
    from rb.store.continuation import Continuation

    if world is None and run.world != "live":
        # Its steps answered from a fixture: going on live would reach real systems.
        raise UsageError(
            f"run {run.id[:8]} ran against a fixture ({run.kind}): only a live run is "
            "continued live; run rb test again instead"
        )
    environment = run.metadata.get("environment")
    if environment and run.world == "live" and cancelled is None:
        # Each start is checked: a version deprecated while the run waited stops it
        # here (a cancel's rollbacks still run).
        from rb.service.definitions import require_approved

        require_approved(store, runbook, str(environment))
    claimed, steps_seq, exchanges_seq = _claim(store, run)
    if not claimed:
        raise UsageError(f"run {run.id[:8]} is being continued by another process")
    meta = run.metadata
    earlier = run.attempts or [
        {
            "run_attempt": 1,
            "actor": run.actor,
            "started_at": run.recorded_at.isoformat(),
            "reason": "run",
            "status": run.status,
        }
    ]
    continuation = Continuation(
        execution_id=run.id,
        run_attempt=run.run_attempt + 1,
        step_seq=steps_seq,
        exchange_seq=exchanges_seq,
        metadata=meta,
        attempts=earlier,
        reason=reason,
    )
    if world is None:
        world = live_world(secrets=secrets_from(os.environ, None), facts=meta.get("facts", {}))
    params: Mapping[str, Any] = resolve_params(runbook, meta.get("params", {}), from_text=False)
    request = RunRequest(
        runbook,
        world,
        params=params,
        recording=Recording(store=store),
        actor=actor or default_actor(),
        listeners=listeners,
        control=control,
        environment=environment,
    )
    seen = str(meta.get("execution_id_seen") or run.id)
    return execute(
        request,
        resuming=Resuming(
            continuation, restored, seen, run.started_at.isoformat(), cancelled=cancelled
        ),
    )


def _claim(store: Store, run: Execution) -> tuple[bool, int, int]:
    """Mark the run `running` under this process, unless another got there first;
    with the highest step and exchange numbers recorded so far."""
    from sqlalchemy import func, select, update

    from rb.store import lease
    from rb.store.tables import exchanges, executions, step_logs

    with store.begin() as conn:
        changed = conn.execute(
            update(executions)
            .where(executions.c.id == run.id, executions.c.status == run.status)
            .values(status="running", lease=lease.current(), heartbeat_at=datetime.now(UTC))
        ).rowcount
        steps_seq = conn.execute(
            select(func.coalesce(func.max(step_logs.c.seq), 0)).where(
                step_logs.c.execution_id == run.id
            )
        ).scalar_one()
        exchanges_seq = conn.execute(
            select(func.coalesce(func.max(exchanges.c.seq), 0)).where(
                exchanges.c.execution_id == run.id
            )
        ).scalar_one()
    return changed == 1, int(steps_seq), int(exchanges_seq)
