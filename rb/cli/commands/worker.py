"""`rb worker`: the queue's worker, logging to stderr."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path


def worker(
    *,
    concurrency: int,
    queues: tuple[str, ...],
    db: str | None,
    project: Path,
    name: str | None,
    secrets_file: str | None,
    heartbeat: float,
    stalled_after: float,
    grace: float,
    schedules: bool,
) -> int:
    """Serve the queue until stopped; 0 when stopped by a signal."""
    from rb.worker.config import WorkerOptions
    from rb.worker.main import run_worker

    options = WorkerOptions(
        db=db,
        project=project,
        name=name,
        queues=queues,
        concurrency=concurrency,
        heartbeat=heartbeat,
        stalled_after=stalled_after,
        grace=grace,
        secrets_file=secrets_file,
        schedules=schedules,
    )
    return run_worker(options, _log)


def _log(text: str) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
    sys.stderr.write(f"{stamp} rb worker: {text}\n")
    sys.stderr.flush()
