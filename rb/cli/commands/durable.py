"""`rb resume`, `rb retry`, `rb cancel`, `rb pause`: a recorded execution's life after its start."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rb.cli.commands import auditing
from rb.cli.notifications import warn_undelivered
from rb.cli.render import PlainProgress, summary_lines
from rb.engine.outcome import ExecutionResult, status_text
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import dumps
from rb.service.identity import cli_actor
from rb.service.runner import Ran


def resume(
    ref: str,
    *,
    db: str | None,
    actor: str | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Continue an interrupted, failed, timed-out or waiting run; 0 when it succeeds.

    A run on the queue is handed to a worker (0 once its continuation is queued)."""
    from rb.service.durable import request_control
    from rb.service.durable import resume as resume_run
    from rb.service.enqueue import continue_on_queue, queue_of
    from rb.store.database import open_store
    from rb.store.queries import resolve_id

    out = out or sys.stdout
    store = open_store(db)
    full = resolve_id(store, ref)
    who = cli_actor(actor)
    if queue_of(store, full):
        request_control(full, "resume", actor=who.name, store=store)  # checks
        queued = continue_on_queue(store, full)
        assert queued is not None
        auditing.record(store, who, "resume", full, details={"queue": queued.queue})
        out.write(
            f"run {full[:8]} goes on on a worker: its continuation is on queue "
            f"{queued.queue!r} (rb runs show {full[:8]})\n"
        )
        return EXIT_OK
    with auditing.recorded_if_cut_short(lambda: auditing.record(store, who, "resume", full)):
        ran = resume_run(
            full, store=store, actor=who.name, listeners=_listeners(out, output_format)
        )
    auditing.record(store, who, "resume", full, result=ran.result)
    return _report(ran, "resumed", out, output_format)


def resume_due(
    *,
    db: str | None,
    actor: str | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Resume the parked runs whose wait deadline has passed; 0 whatever they became."""
    from rb.service.due import resume_due as resume_runs
    from rb.store.database import open_store

    out = out or sys.stdout
    store = open_store(db)
    who = cli_actor(actor or "rb")
    try:
        done = resume_runs(store, actor=who.name)
        for d in done:
            details = {"due": True, "steps": list(d.step_ids), "status": d.status}
            auditing.record(store, who, "resume", d.execution_id, details=details)
    finally:
        store.dispose()
    if output_format == "json":
        out.write(
            dumps(
                [
                    {
                        "execution_id": d.execution_id,
                        "steps": list(d.step_ids),
                        "status": d.status,
                        "error": d.error or None,
                    }
                    for d in done
                ]
            )
        )
        return EXIT_OK
    for d in done:
        why = f": {d.error}" if d.error else ""
        out.write(
            f"{d.execution_id[:8]} deadline passed at {', '.join(d.step_ids)} -> {d.status}{why}\n"
        )
    out.write(f"{len(done)} run(s) past their deadline resumed\n")
    return EXIT_OK


def retry(
    ref: str,
    step: str,
    *,
    db: str | None,
    actor: str | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Run STEP and everything after it again, the steps before it restored."""
    from rb.service.durable import retry as retry_run
    from rb.store.database import open_store
    from rb.store.queries import resolve_id

    out = out or sys.stdout
    store = open_store(db)
    full = resolve_id(store, ref)
    who = cli_actor(actor)
    details = {"step": step}

    def audit(result: ExecutionResult | None = None) -> None:
        auditing.record(store, who, "retry", full, result=result, details=details)

    with auditing.recorded_if_cut_short(audit):
        ran = retry_run(
            full, step, store=store, actor=who.name, listeners=_listeners(out, output_format)
        )
    audit(ran.result)
    return _report(ran, f"retried from {step}", out, output_format)


def control(
    ref: str,
    action: str,
    *,
    db: str | None,
    actor: str | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Ask a run to cancel or pause; 0 when asked (or done), 2 when its state does not allow it."""
    from rb.service.durable import request_control
    from rb.store.database import open_store

    out = out or sys.stdout
    store = open_store(db)
    who = cli_actor(actor)
    done = request_control(ref, action, actor=who.name, store=store)
    details = {"outcome": done.outcome}
    auditing.record(store, who, done.action, done.execution_id, details=details)
    if output_format == "json":
        out.write(
            dumps(
                {
                    "execution_id": done.execution_id,
                    "action": done.action,
                    "outcome": done.outcome,
                    "message": done.message,
                }
            )
        )
    else:
        out.write(done.message + "\n")
    return EXIT_OK


def _listeners(out: TextIO, output_format: str) -> list[Any]:
    return [PlainProgress(out)] if output_format == "text" else []


def _report(ran: Ran, how: str, out: TextIO, output_format: str) -> int:
    result = ran.result
    warn_undelivered(ran.notifications)
    if output_format == "json":
        out.write(
            dumps(
                {
                    "execution_id": ran.execution_id,
                    "status": result.status,
                    "error": result.error or None,
                    "waiting_for": [w.to_json() for w in result.waiting_for],
                    "restored": sorted(s for s, o in result.steps.items() if o.restored),
                }
            )
        )
    else:
        restored = sum(1 for o in result.steps.values() if o.restored)
        for line in summary_lines(result):
            out.write(line + "\n")
        if result.error:
            out.write(f"{result.error}\n")
        out.write(f"{how}: {restored} finished steps restored from the recording, not run\n")
        for w in result.waiting_for:
            out.write(
                f"waiting for {w.kind}" + (f" at step {w.step_id}" if w.step_id else "") + "\n"
            )
        if ran.execution_id:
            out.write(f"recorded as {ran.execution_id} (rb runs show {ran.execution_id[:8]})\n")
        out.write(f"{status_text(result.status.upper(), result.kpis_breached)}\n")
    if result.ok or result.status == "waiting":
        return EXIT_OK
    return EXIT_FAILED
