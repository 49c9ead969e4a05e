"""What `rb worker` is asked for, and its defaults (light: read by `rb --help`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rb.store.queue_names import DEFAULT_QUEUE, STALLED_AFTER_SECONDS

DEFAULT_CONCURRENCY = 1
DEFAULT_HEARTBEAT_SECONDS = 10.0  # procrastinate's worker heartbeat
DEFAULT_STALLED_AFTER_SECONDS = STALLED_AFTER_SECONDS  # silent this long: its jobs run again
DEFAULT_GRACE_SECONDS = 30.0  # after SIGTERM, before running executions are paused
RECONNECT_MAX_SECONDS = 10.0
# Finished jobs (and their events: the queue's wait times) are kept this long;
# failed ones stay until deleted by hand, to be looked at.
KEEP_FINISHED_HOURS = 1
PRUNE_EVERY_SECONDS = 300.0
# A worker's query waits this long for a pool connection; then PostgreSQL is
# taken to be away and the worker reconnects (psycopg_pool's 30 s default
# kept a worker silent for a minute before it said so).
POOL_WAIT_SECONDS = 5.0
JOB_POLL_SECONDS = 1.0  # besides LISTEN/NOTIFY: delayed jobs and missed notifications
# A job whose execution another worker may still hold is tried again this
# often, as many times: together longer than rb's own lease staleness (2 min).
TAKEOVER_WAIT_SECONDS, TAKEOVER_ATTEMPTS = 5, 40

Log = Callable[[str], None]


@dataclass(frozen=True)
class WorkerOptions:
    """What `rb worker` was asked for."""

    db: str | None = None
    project: Path = Path(".")
    name: str | None = None  # default: host:pid
    queues: tuple[str, ...] = (DEFAULT_QUEUE,)
    concurrency: int = DEFAULT_CONCURRENCY
    heartbeat: float = DEFAULT_HEARTBEAT_SECONDS
    stalled_after: float = DEFAULT_STALLED_AFTER_SECONDS
    grace: float = DEFAULT_GRACE_SECONDS
    secrets_file: str | None = None
    schedules: bool = True  # defer the runbooks' schedules (docs/scaling.md)
    runbooks: Path | None = None  # where schedules are read; default: <project>/runbooks
