"""Who serves the queue and how deep it is: `rb workers list` and the server's /metrics.

The queue lives in a PostgreSQL store (rb.service.queue_app); these read
procrastinate's tables beside rb's through the store (rb.store.workers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rb.service.queue_app import require_postgres
from rb.store.queue_names import STALLED_AFTER_SECONDS
from rb.store.workers import QueueStats, RunningExecution, WorkerRow

if TYPE_CHECKING:
    from rb.store.database import Store

# As `rb worker --stalled-after` defaults: a worker silent this long is no longer live.
DEFAULT_STALLED_AFTER_SECONDS = STALLED_AFTER_SECONDS

__all__ = [
    "DEFAULT_STALLED_AFTER_SECONDS",
    "QueueStats",
    "RunningExecution",
    "WorkerRow",
    "list_workers",
    "stats",
]


def list_workers(*, db: str | None, stalled_after: float) -> tuple[str, list[WorkerRow]]:
    """The store (as shown to people) and its live workers, by name.

    A SQLite store has no queue: UsageError saying what to do.
    """
    from rb.store.database import open_store, resolve_url
    from rb.store.workers import live_workers

    require_postgres(resolve_url(db), "rb workers list")
    store = open_store(db)
    return store.shown, live_workers(store, stalled_after)


def stats(store: Store, stalled_after: float = DEFAULT_STALLED_AFTER_SECONDS) -> QueueStats:
    """The queue's depth, wait times and load now (empty on SQLite or without the queue)."""
    from rb.store.workers import queue_stats

    return queue_stats(store, stalled_after)
