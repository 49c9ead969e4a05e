"""`rb approve`, `rb reject`, `rb event send`: answers for waiting runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO

from rb.errors import EXIT_OK, UsageError
from rb.report import dumps
from rb.service.request import default_actor
from rb.service.waits import Answered, Resumer, decide, resume_now, send_event


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
    answered = decide(
        store,
        execution_id,
        decision,
        actor=actor or default_actor(),
        step_id=step,
        comment=comment,
    )
    return _render(answered, f"{decision}d", output_format, out or sys.stdout)


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
    answered = send_event(
        store, name, key, payload, actor=actor or default_actor(), keep_seconds=keep
    )
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
    who = actor or default_actor()
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
            return decide(
                store,
                execution_id,
                verdict,
                actor=who,
                step_id=step,
                comment=comment or None,
                resume=resume,
            )
    return None
