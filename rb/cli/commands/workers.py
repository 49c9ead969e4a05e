"""`rb workers list`: live workers as a table or JSON."""

from __future__ import annotations

import sys
from typing import TextIO

from rb.cli.render import aligned
from rb.errors import EXIT_OK
from rb.report import dumps
from rb.service.workers import RunningExecution, WorkerRow
from rb.wording import plural


def workers_list(
    *, db: str | None, output_format: str, stalled_after: float, out: TextIO | None = None
) -> int:
    """Print the live workers (heartbeat fresher than `stalled_after` seconds)."""
    from rb.service.workers import list_workers

    out = out or sys.stdout
    shown, found = list_workers(db=db, stalled_after=stalled_after)
    if output_format == "json":
        out.write(dumps([w.to_json() for w in found]))
        return EXIT_OK
    if not found:
        out.write(
            f"no live workers on {shown} (none with a heartbeat in the last "
            f"{stalled_after:g}s): start one with rb worker\n"
        )
        return EXIT_OK
    out.write(table(found))
    running = sum(len(w.running) for w in found)
    out.write(f"{plural(len(found), 'worker')}, {plural(running, 'execution')} running\n")
    return EXIT_OK


def table(found: list[WorkerRow]) -> str:
    """The workers as aligned columns, one line each (a worker's runs comma-separated)."""
    header = ("NAME", "HOST", "PID", "QUEUES", "CONC", "HEARTBEAT", "RUNNING")
    rows = [
        (
            w.name,
            w.host or "-",
            "-" if w.pid is None else str(w.pid),
            ",".join(w.queues) or "-",
            "-" if w.concurrency is None else str(w.concurrency),
            f"{_age(w.heartbeat_age_seconds)} ago",
            ", ".join(_running(r) for r in w.running) or "-",
        )
        for w in found
    ]
    return aligned(header, rows)


def _running(run: RunningExecution) -> str:
    short = (run.execution_id or f"job {run.job_id}")[:8]
    took = "" if run.running_seconds is None else f" {_age(run.running_seconds)}"
    return f"{short} {run.runbook_id or '?'}{took}"


def _age(seconds: float) -> str:
    """1.2s, 45s, 3m05s, 2h10m: short enough for a column."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
