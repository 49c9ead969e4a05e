"""Answering a waiting run: a decision on an approval, an event sent to rb.

The CLI (`rb approve`, `rb reject`, `rb event send`) and the API call these.
The answer is kept in the store first; when it completes what a parked run
waits for, the run is resumed from its recording (rb.service.durable.resume),
so a decision never depends on the process that started the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rb.errors import UsageError

if TYPE_CHECKING:
    from rb.service.runner import Ran
    from rb.store.database import Store
    from rb.store.inbox import WaitingRun

# Runs that can take a decision: parked, or still going (a decision given
# before the step waits is kept for it).
OPEN_STATES = ("waiting", "running", "queued")


@dataclass(frozen=True)
class Answered:
    """What became of an answer: kept, and whether a run went on because of it."""

    execution_id: str | None  # the run it was for (an event may match none yet)
    step_id: str | None
    complete: bool  # it completes what the run waits for
    resumed: Ran | None = None  # the resumed run, when it was resumed here
    note: str = ""  # for people: what happens next


Resumer = Callable[[str, "Store", str], "Ran | None"]


def resume_now(execution_id: str, store: Store, actor: str) -> Ran | None:
    """Resume a parked run in this process (rb.service.durable, lazily imported);
    a run on the queue is handed to a worker instead (None)."""
    import importlib

    from rb.service.enqueue import continue_on_queue

    if continue_on_queue(store, execution_id) is not None:
        return None

    # Provided by the durable-executions work (rb/service/durable.py).
    durable = importlib.import_module("rb.service.durable")
    ran: Ran = durable.resume(execution_id, store=store, actor=actor)
    return ran


def decide(
    store: Store,
    execution_id: str,
    decision: str,
    *,
    actor: str,
    step_id: str | None = None,
    comment: str | None = None,
    resume: Resumer | None = resume_now,
) -> Answered:
    """Record `actor`'s decision (approve | reject) on an approval step of a run.

    Refused (UsageError) when the run is unknown or finished, the step is not
    an approval it waits for, or the actor may not decide it.
    """
    from rb.steps.approval import ApprovalPolicy, group_members
    from rb.store.inbox import StoreInbox, execution_info, record_decision, waiting_runs

    info = execution_info(store, execution_id)
    if info is None:
        raise UsageError(f"no execution {execution_id!r} in {store.shown}")
    status, trigger, _definition = info
    if status not in OPEN_STATES:
        raise UsageError(f"execution {execution_id} has ended ({status}); nothing to decide")
    waits = [
        w
        for run in waiting_runs(store, execution_id)
        for w in run.waiting_for
        if w.get("kind") == "approval"
    ]
    wait = _the_wait(waits, step_id, execution_id, status)
    step = str(wait["step_id"]) if wait is not None else step_id
    if step is None:
        raise UsageError(f"execution {execution_id} waits for no approval yet: give --step")
    if wait is None:
        record_decision(store, execution_id, step, decision, actor=actor, comment=comment)
        return Answered(execution_id, step, False, note="decision recorded")
    policy = ApprovalPolicy(
        approvers=tuple(wait.get("approvers") or ()),
        groups=tuple(wait.get("groups") or ()),
        required=int(wait.get("needed", 1)),
        allow_self_approval=bool(wait.get("allow_self_approval", False)),
    )
    members = group_members() if policy.groups else {}
    refusal = policy.refusal(actor, trigger, members)
    if refusal is not None:
        raise UsageError(f"cannot decide step {step!r}: {refusal}")
    record_decision(store, execution_id, step, decision, actor=actor, comment=comment)
    # Counted from the store, not from when the run parked: others may have
    # approved since.
    approving = {
        d.actor
        for d in StoreInbox(store).decisions(execution_id, step)
        if d.decision == "approve" and policy.refusal(d.actor, trigger, members) is None
    }
    left = policy.required - len(approving)
    if decision != "reject" and left > 0:
        return Answered(execution_id, step, False, note=f"decision recorded; {left} more needed")
    return _go_on(store, execution_id, step, actor, resume)


def send_event(
    store: Store,
    name: str,
    key: str,
    payload: Any,
    *,
    actor: str,
    keep_seconds: float | None = None,
    resume: Resumer | None = resume_now,
) -> Answered:
    """Keep an event, and resume the oldest run parked waiting for it (if any)."""
    from rb.store.inbox import EVENT_KEEP_SECONDS, record_event, waiting_runs

    keep = EVENT_KEEP_SECONDS if keep_seconds is None else keep_seconds
    record_event(store, name, key, payload, actor=actor, keep_seconds=keep)
    for run in waiting_runs(store):
        for wait in run.waiting_for:
            if wait.get("kind") == "event" and wait.get("name") == name and wait.get("key") == key:
                return _go_on(store, run.execution_id, str(wait["step_id"]), actor, resume)
    return Answered(None, None, False, note=f"event kept for {keep:g}s for a step to take")


def waiting_for_approval(store: Store) -> list[WaitingRun]:
    """Parked runs that wait for an approval."""
    from rb.store.inbox import waiting_runs

    return [
        r for r in waiting_runs(store) if any(w.get("kind") == "approval" for w in r.waiting_for)
    ]


def _the_wait(
    waits: list[dict[str, Any]], step_id: str | None, execution_id: str, status: str
) -> dict[str, Any] | None:
    if step_id is not None:
        found = next((w for w in waits if w.get("step_id") == step_id), None)
        if found is None and status == "waiting":
            # A running run may get a decision before its step waits; a
            # parked one can only be waiting for the steps it names.
            steps = ", ".join(str(w["step_id"]) for w in waits) or "no approval"
            raise UsageError(
                f"execution {execution_id} waits for {steps}, not for step {step_id!r}"
            )
        return found
    if len(waits) > 1:
        steps = ", ".join(str(w["step_id"]) for w in waits)
        raise UsageError(f"execution {execution_id} waits for approvals of {steps}: give --step")
    if not waits and status == "waiting":
        raise UsageError(f"execution {execution_id} is waiting, but not for an approval")
    return waits[0] if waits else None


def _go_on(
    store: Store, execution_id: str, step_id: str, actor: str, resume: Resumer | None
) -> Answered:
    if resume is None:
        return Answered(execution_id, step_id, True, note="the run goes on when resumed")
    ran = resume(execution_id, store, actor)
    if ran is None:
        return Answered(execution_id, step_id, True, note="the run goes on on a worker (queued)")
    return Answered(execution_id, step_id, True, ran, note="the run went on")
