"""`rb worker` processes as the store knows them: runbook_workers beside procrastinate's.

procrastinate's `procrastinate_workers` has each worker's id and heartbeat;
rb's row adds its name, host, process, queues and concurrency. A worker is
live while its heartbeat is fresh; what it runs is its `doing` jobs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rb.store.database import Store
from rb.store.queue_names import EXECUTE_TASK, STALLED_AFTER_SECONDS
from rb.store.tables import workers


def register(
    store: Store, worker_id: int, *, name: str, queues: Sequence[str], concurrency: int
) -> None:
    """Record this process as procrastinate worker `worker_id`."""
    with store.begin() as conn:
        conn.execute(workers.delete().where(workers.c.worker_id == worker_id))
        conn.execute(
            workers.insert().values(
                worker_id=worker_id,
                name=name,
                host=socket.gethostname(),
                pid=os.getpid(),
                queues=list(queues),
                concurrency=concurrency,
                started_at=datetime.now(UTC),
            )
        )


def unregister(store: Store, worker_id: int) -> None:
    """The worker stopped cleanly: its row goes."""
    with store.begin() as conn:
        conn.execute(workers.delete().where(workers.c.worker_id == worker_id))


# The events that put a job (back) on the queue: its wait starts at the latest.
_QUEUED_EVENTS = "('deferred', 'deferred_for_retry', 'retried', 'scheduled')"
# A job waits for a worker once it is due: todo, and not scheduled for later.
_DUE = "j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
WAIT_WINDOW_SECONDS = 300.0  # wait-time quantiles are over jobs started this recently


@dataclass(frozen=True)
class RunningExecution:
    """An execution a worker runs now: its `doing` rb.execute job."""

    job_id: int
    execution_id: str | None
    runbook_id: str | None  # None: the execution's row is gone
    queue: str
    running_seconds: float | None  # since its job started (None: no started event)

    def to_json(self) -> dict[str, Any]:
        """As `rb workers list --format json` shows it."""
        return {
            "job_id": self.job_id,
            "execution_id": self.execution_id,
            "runbook_id": self.runbook_id,
            "queue": self.queue,
            "running_seconds": _rounded(self.running_seconds),
        }


@dataclass(frozen=True)
class WorkerRow:
    """A live worker: procrastinate's id and heartbeat, rb's row (when it has one), its runs."""

    worker_id: int
    name: str  # its --name; a procrastinate worker without an rb row: its id
    host: str | None
    pid: int | None
    queues: tuple[str, ...]
    concurrency: int | None
    started_at: datetime | None
    last_heartbeat: datetime
    heartbeat_age_seconds: float
    running: tuple[RunningExecution, ...]

    def to_json(self) -> dict[str, Any]:
        """As `rb workers list --format json` shows it."""
        return {
            "worker_id": self.worker_id,
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "queues": list(self.queues),
            "concurrency": self.concurrency,
            "started_at": _iso(self.started_at),
            "last_heartbeat": _iso(self.last_heartbeat),
            "heartbeat_age_seconds": _rounded(self.heartbeat_age_seconds),
            "running": [r.to_json() for r in self.running],
        }


@dataclass(frozen=True)
class QueueDepth:
    """One queue's jobs now (any task)."""

    queue: str
    waiting: int  # todo, due now
    scheduled: int  # todo, due later
    running: int  # doing
    oldest_waiting_seconds: float | None  # how long the longest-waiting due job has waited


@dataclass(frozen=True)
class QueueStats:
    """The queue at one moment, for /metrics. Empty without procrastinate's tables."""

    queues: tuple[QueueDepth, ...] = ()
    wait_p50_seconds: float | None = None  # deferred (or due) -> started, last 5 minutes
    wait_p95_seconds: float | None = None
    waits_observed: int = 0  # jobs the quantiles are over
    running_per_worker: tuple[tuple[str, int], ...] = ()  # (worker name, doing jobs), live ones
    workers_live: int = 0


def has_queue_tables(store: Store) -> bool:
    """Whether procrastinate's tables are where the store's are (never on SQLite)."""
    if store.is_sqlite:
        return False
    from sqlalchemy import text

    with store.begin() as conn:
        return conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


def live_workers(store: Store, stalled_after: float) -> list[WorkerRow]:
    """Workers whose heartbeat is fresher than `stalled_after` seconds, by name,
    each with the executions it runs now. Empty without the queue's tables."""
    if not has_queue_tables(store):
        return []
    from sqlalchemy import bindparam, text

    with store.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT w.id, w.last_heartbeat, EXTRACT(EPOCH FROM now() - w.last_heartbeat), "
                "r.name, r.host, r.pid, r.queues, r.concurrency, r.started_at "
                "FROM procrastinate_workers w "
                "LEFT JOIN runbook_workers r ON r.worker_id = w.id "
                "WHERE w.last_heartbeat > now() - make_interval(secs => :stalled) "
                "ORDER BY COALESCE(r.name, w.id::text), w.id"
            ),
            {"stalled": stalled_after},
        ).all()
        ids = [int(row[0]) for row in rows]
        jobs = (
            conn.execute(
                text(
                    "SELECT j.worker_id, j.id, j.args->>'execution_id', e.runbook_id, "
                    "j.queue_name, EXTRACT(EPOCH FROM now() - s.started) "
                    "FROM procrastinate_jobs j "
                    "LEFT JOIN runbook_executions e ON e.id = j.args->>'execution_id' "
                    "LEFT JOIN LATERAL (SELECT max(ev.at) AS started FROM procrastinate_events ev "
                    "WHERE ev.job_id = j.id AND ev.type = 'started') s ON true "
                    "WHERE j.status = 'doing' AND j.task_name = :task "
                    "AND j.worker_id IN :ids ORDER BY j.id"
                ).bindparams(bindparam("ids", expanding=True)),
                {"task": EXECUTE_TASK, "ids": ids},
            ).all()
            if ids
            else []
        )
    running: dict[int, list[RunningExecution]] = {}
    for worker_id, job_id, execution_id, runbook_id, queue, seconds in jobs:
        running.setdefault(int(worker_id), []).append(
            RunningExecution(int(job_id), execution_id, runbook_id, queue, _seconds(seconds))
        )
    return [
        WorkerRow(
            worker_id=int(wid),
            name=name or str(wid),
            host=host,
            pid=pid,
            queues=tuple(queues or ()),
            concurrency=concurrency,
            started_at=started_at,
            last_heartbeat=heartbeat,
            heartbeat_age_seconds=max(0.0, float(age)),
            running=tuple(running.get(int(wid), ())),
        )
        for wid, heartbeat, age, name, host, pid, queues, concurrency, started_at in rows
    ]


def queue_stats(store: Store, stalled_after: float = STALLED_AFTER_SECONDS) -> QueueStats:
    """Depth, wait times and load of the queue now (`stalled_after`: which workers are live).

    Queues with no jobs but a live worker serving them are there with zeros,
    so a scrape sees them drain to 0 rather than vanish.
    """
    if not has_queue_tables(store):
        return QueueStats()
    from sqlalchemy import text

    with store.begin() as conn:
        depth = conn.execute(
            text(
                "SELECT j.queue_name, "
                f"count(*) FILTER (WHERE {_DUE}), "
                "count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()), "
                "count(*) FILTER (WHERE j.status = 'doing'), "
                "EXTRACT(EPOCH FROM now() - min(GREATEST(q.at, j.scheduled_at)) "
                f"FILTER (WHERE {_DUE})) "
                "FROM procrastinate_jobs j "
                "LEFT JOIN LATERAL (SELECT max(ev.at) AS at FROM procrastinate_events ev "
                f"WHERE ev.job_id = j.id AND ev.type IN {_QUEUED_EVENTS} "
                "AND ev.at <= now()) q ON true "
                "WHERE j.status IN ('todo', 'doing') GROUP BY j.queue_name"
            )
        ).all()
        waits = conn.execute(
            text(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w.wait), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY w.wait), count(*) FROM ("
                "SELECT GREATEST(0, EXTRACT(EPOCH FROM s.at - q.at)) AS wait "
                "FROM procrastinate_events s "
                "JOIN LATERAL (SELECT max(ev.at) AS at FROM procrastinate_events ev "
                f"WHERE ev.job_id = s.job_id AND ev.id < s.id AND ev.type IN {_QUEUED_EVENTS} "
                # only what queued it since its previous start (a retry waits anew)
                "AND ev.id > COALESCE((SELECT max(p.id) FROM procrastinate_events p "
                "WHERE p.job_id = s.job_id AND p.type = 'started' AND p.id < s.id), 0)"
                ") q ON q.at IS NOT NULL "
                "WHERE s.type = 'started' AND s.at > now() - make_interval(secs => :window)"
                ") w"
            ),
            {"window": WAIT_WINDOW_SECONDS},
        ).one()
        load = conn.execute(
            text(
                "SELECT COALESCE(r.name, w.id::text), r.queues, "
                "(SELECT count(*) FROM procrastinate_jobs j "
                "WHERE j.worker_id = w.id AND j.status = 'doing') "
                "FROM procrastinate_workers w "
                "LEFT JOIN runbook_workers r ON r.worker_id = w.id "
                "WHERE w.last_heartbeat > now() - make_interval(secs => :stalled)"
            ),
            {"stalled": stalled_after},
        ).all()
    queues = {
        name: QueueDepth(name, int(waiting), int(scheduled), int(doing), _seconds(oldest))
        for name, waiting, scheduled, doing, oldest in depth
    }
    per_worker: dict[str, int] = {}
    for name, served, doing in load:
        # Two workers may share a --name: one series each name, their sum.
        per_worker[name] = per_worker.get(name, 0) + int(doing)
        for queue in served or ():
            queues.setdefault(queue, QueueDepth(queue, 0, 0, 0, None))
    p50, p95, observed = waits
    return QueueStats(
        queues=tuple(queues[name] for name in sorted(queues)),
        wait_p50_seconds=_seconds(p50),
        wait_p95_seconds=_seconds(p95),
        waits_observed=int(observed),
        running_per_worker=tuple(sorted(per_worker.items())),
        workers_live=len(load),
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else max(0.0, float(value))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()
