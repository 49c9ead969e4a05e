"""The queue's names as procrastinate stores them, and when a worker counts as gone.

One place for what the store reads (rb.store.workers), the service defers
(rb.service.queue_app, rb.service.enqueue) and `rb worker` runs: the store
is the lowest of them, so the names live here.
"""

from __future__ import annotations

EXECUTE_TASK = "rb.execute"  # kwargs: execution_id, runbook (path) | None, fixture (path) | None
SCHEDULED_TASK = "rb.scheduled"  # kwargs: timestamp, runbook (path); periodic_id: runbook id
DEFAULT_QUEUE = "runbooks"
# A worker whose heartbeat is older than this is gone: its jobs run again
# elsewhere, and `rb workers list` and /metrics no longer count it.
STALLED_AFTER_SECONDS = 30.0
