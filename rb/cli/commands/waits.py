"""`rb approve`, `rb reject`, `rb event send`: answers for waiting runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from rb.cli.commands import auditing
from rb.errors import EXIT_OK, UsageError
from rb.report import dumps
from rb.service.access import require_on_run
from rb.service.audit import record_action
from rb.service.identity import Actor, cli_actor
from rb.service.waits import Answered, Resumer, decide, resume_now, send_event

if TYPE_CHECKING:
    from rb.service.runner import Ran
    from rb.store.database import Store


def decide_command(
    ref: str,
    decision: str,
    *,
    step: str | None,
    comment: str | None,
    actor: str | None,
    db: str | None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Record a decision; resume the run here when it completes the approval."""
    from rb.store.database import open_store
    from rb.store.queries import resolve_id

    store = open_store(db)
    execution_id = resolve_id(store, ref)
    who = cli_actor(actor)
    require_on_run(store, execution_id, who, "approve")
    answered = _decide_audited(store, execution_id, decision, who, step, comment, resume_now)
    return _render(answered, f"{decision}d", output_format, out or sys.stdout)


def _decide_audited(
    store: Store,
    execution_id: str,
    decision: str,
    who: Actor,
    step: str | None,
    comment: str | None,
    resume: Resumer | None,
) -> Answered:
    """`decide`, audited: recorded once the decision is kept, before the run goes on
    (a resumed run may take long, or be cut short)."""
    done: list[bool] = []

    def write(step_id: str | None) -> None:
        if not done:
            details = {"step": step_id, "comment": comment}
            auditing.record(store, who, decision, execution_id, details=details)
            done.append(True)

    def audited_resume(run_id: str, at: Store, name: str) -> Ran | None:
        write(step or _waiting_approval(at, run_id))
        return resume(run_id, at, name) if resume is not None else None

    answered = decide(
        store,
        execution_id,
        decision,
        actor=who.name,
        step_id=step,
        comment=comment,
        resume=audited_resume,
    )
    write(answered.step_id)
    return answered


def _waiting_approval(store: Store, execution_id: str) -> str | None:
    """The approval step a run still waits at (the one just decided), if only one."""
    from rb.store.inbox import waiting_runs

    steps = {
        str(w.get("step_id"))
        for run in waiting_runs(store, execution_id)
        for w in run.waiting_for
        if w.get("kind") == "approval"
    }
    return steps.pop() if len(steps) == 1 else None


def event_command(
    name: str,
    *,
    key: str,
    data: str,
    keep: float | None,
    actor: str | None,
    db: str | None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Send an event; resume the run parked waiting for it, if there is one."""
    from rb.store.database import open_store

    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise UsageError(f"--data is not valid JSON: {exc}") from None
    store = open_store(db)
    who = cli_actor(actor)
    taken: list[str] = []

    def audited_resume(run_id: str, at: Store, by: str) -> Ran | None:
        # Recorded before the run goes on: it may take long, or be cut short.
        auditing.record(store, who, "event", run_id, details={"event": name, "key": key})
        taken.append(run_id)
        return resume_now(run_id, at, by)

    answered = send_event(
        store, name, key, payload, actor=who.name, keep_seconds=keep, resume=audited_resume
    )
    if not taken:  # kept for a step that waits later: the subject is the event
        details = {"event": name, "key": key, "kept": True}
        record_action(store, who, "event", f"event {name} ({key})", details=details)
    return _render(answered, f"event {name} ({key}) sent", output_format, out or sys.stdout)


def _render(answered: Answered, done: str, output_format: str, out: TextIO) -> int:
    status = None
    if answered.resumed is not None:
        status = answered.resumed.result.status
    if output_format == "json":
        out.write(
            dumps(
                {
                    "execution_id": answered.execution_id,
                    "step": answered.step_id,
                    "complete": answered.complete,
                    "resumed": answered.resumed is not None,
                    "status": status,
                    "note": answered.note,
                }
            )
        )
        return EXIT_OK
    where = f" for {answered.execution_id} step {answered.step_id}" if answered.step_id else ""
    ended = f" (now {status})" if status else ""
    out.write(f"{done}{where}: {answered.note}{ended}\n")
    return EXIT_OK


def ask_on_terminal(
    execution_id: str,
    *,
    db: str | None,
    actor: str | None,
    out: TextIO,
    ask: Callable[[str], str] = input,
    resume: Resumer | None = resume_now,
) -> Answered | None:
    """`rb run` on a terminal, parked at an approval the person may decide: ask them.

    Enter (or end of input) leaves the run waiting for others (`rb approve`).
    """
    from rb.steps.approval import ApprovalPolicy, group_members
    from rb.store.database import open_store
    from rb.store.inbox import execution_info, waiting_runs

    store = open_store(db)
    info = execution_info(store, execution_id)
    actor_of = cli_actor(actor)
    who = actor_of.name
    for run in waiting_runs(store, execution_id):
        for wait in run.waiting_for:
            if wait.get("kind") != "approval":
                continue
            policy = ApprovalPolicy(
                approvers=tuple(wait.get("approvers") or ()),
                groups=tuple(wait.get("groups") or ()),
                allow_self_approval=bool(wait.get("allow_self_approval", False)),
            )
            members = group_members() if policy.groups else {}
            if policy.refusal(who, info[1] if info else None, members) is not None:
                continue
            step = str(wait["step_id"])
            out.write(f"\nstep {step} asks: {wait.get('message') or 'approve?'}\n")
            try:
                answer = ask(f"approve as {who}? [y]es, [n]o, Enter to leave it waiting: ")
                verdict = {"y": "approve", "n": "reject"}.get(answer.strip().lower()[:1])
                comment = ask("comment (optional): ").strip() if verdict else ""
            except EOFError:
                verdict = None
            if verdict is None:
                out.write(f"left waiting: rb approve {execution_id[:8]} --step {step}\n")
                return None
            return _decide_audited(
                store, execution_id, verdict, actor_of, step, comment or None, resume
            )
    return None
