"""`rb worker` processes as the store knows them: runbook_workers beside procrastinate's.

procrastinate's `procrastinate_workers` has each worker's id and heartbeat;
rb's row adds its name, host, process, queues and concurrency. A worker is
live while its heartbeat is fresh; what it runs is its `doing` jobs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime

from rb.store.database import Store
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
