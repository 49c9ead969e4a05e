"""`rb approve`, `rb reject`, `rb event send`: answers for waiting runs."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from rb.errors import EXIT_OK, UsageError
from rb.report import dumps
from rb.service.request import default_actor
from rb.service.waits import Answered, decide, send_event


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
