"""`rb serve` in queue mode: executions go to the procrastinate queue, not a thread pool.

With a PostgreSQL store (docs/scaling.md), a request is checked as before
(runbook valid, fixture inside the project, inputs fit), then recorded as
`queued` and deferred as a job: the answer is 202 with the id at once, or
with `"wait": true` the record once the run has ended or parked. The
server runs nothing itself; `rb worker` processes do, on any machine.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from rb.errors import RbError
from rb.server.errors import ApiError, from_rb_error

if TYPE_CHECKING:
    import procrastinate

    from rb.service.enqueue import Enqueued
    from rb.service.request import RunRequest
    from rb.store.database import Store
    from rb.store.records import Execution

log = logging.getLogger("rb.server")


@dataclass
class Queue:
    """The server's procrastinate app (a synchronous pool, shared by request threads)."""

    name: str
    project: Path
    url: str
    pool_size: int
    app: procrastinate.App | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, store: Store) -> procrastinate.App:
        """Create procrastinate's tables if needed and open the pool (once)."""
        from rb.service.queue_app import apply_schema, queue_app

        with self._lock:
            if self.app is None:
                apply_schema(store)
                self.app = queue_app(self.url, max_size=self.pool_size).open()
                log.info("executions go to queue %r: rb worker processes run them", self.name)
            return self.app

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None

    def path_of(self, path: str) -> str:
        """A runbook's path as workers find it: relative to the project folder."""
        relative = os.path.relpath(Path(path).resolve(), self.project.resolve())
        if relative.startswith(".."):
            raise ApiError(
                500,
                f"runbook file {path} is outside the project folder: workers could not find "
                "it; serve a runbooks folder inside the project",
            )
        return relative

    def submit(
        self, store: Store, request: RunRequest, runbook_path: str, fixture: str | None
    ) -> Enqueued:
        """Record and defer the run; its id at once (called in a request thread)."""
        from rb.service.enqueue import enqueue

        try:
            return enqueue(
                self.open(store),
                request,
                runbook_path=self.path_of(runbook_path),
                fixture=fixture,
                queue=self.name,
            )
        except RbError as exc:
            raise from_rb_error(exc) from None

    def go_on(self, store: Store, execution_id: str) -> Enqueued | None:
        """Defer the continuation of a queued run (None: the run is not on a queue)."""
        from rb.service.enqueue import continue_on_queue

        return continue_on_queue(store, execution_id, self.open(store))


async def settled(store: Store, execution_id: str, after_attempt: int = 0) -> Execution:
    """The record of a queued run once it has ended or parked (`"wait": true`);
    for a continuation, once an attempt after `after_attempt` has."""
    from rb.service.enqueue import wait_until_settled
    from rb.store.queries import get_run

    await run_in_threadpool(
        lambda: wait_until_settled(store, execution_id, after_attempt=after_attempt)
    )
    run = await run_in_threadpool(get_run, store, execution_id, with_exchanges=False)
    if run is None:
        raise ApiError(500, f"execution {execution_id} cannot be read back")
    return run
