"""Putting executions on the procrastinate queue, and taking them off it.

`enqueue` records the run as `queued` (its id is the answer at once) and
defers an `rb.execute` job that an `rb worker` takes; `enqueue_continuation`
defers the job that continues a recorded run (an approval, an event, a
resume); `abort_jobs` cancels a queued job or asks a running one to stop.
The job carries the execution id and paths only: inputs are in the row,
secrets in each worker's environment (docs/scaling.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rb.service.queue_app import DEFAULT_QUEUE, EXECUTE_TASK
from rb.service.request import RunRequest, default_actor
from rb.store.database import StoreError

if TYPE_CHECKING:
    import procrastinate

    from rb.store.database import Store


@dataclass(frozen=True)
class Enqueued:
    """An execution on the queue: its id (recorded as `queued`) and its job."""

    execution_id: str
    job_id: int | None  # None: a job for it was already waiting
    queue: str


def job_lock(request: RunRequest) -> str | None:
    """The procrastinate lock of a run's job: its concurrency key when the limit is 1.

    procrastinate starts the jobs of one lock one at a time, in order; a
    limit above 1 (and a slot a parked run keeps) is rb's slot table's to
    enforce when the job starts (rb.worker.jobs).
    """
    from rb.service.keys import concurrency_key

    concurrency = request.runbook.concurrency
    if concurrency is None or concurrency.limit != 1 or request.world_kind != "live":
        return None
    key = concurrency_key(request)
    return None if key is None else f"concurrency:{key}"


def enqueue(
    app: procrastinate.App,
    request: RunRequest,
    *,
    runbook_path: str,
    fixture: str | None = None,
    queue: str = DEFAULT_QUEUE,
) -> Enqueued:
    """Record `request` as a queued execution and defer its job; returns at once.

    `runbook_path` (and `fixture`) are paths relative to the project folder
    the workers run in. An idempotency key already used raises what
    rb.service.keys says (AlreadyTriggered, IdempotencyConflict). The app
    must be open synchronously (`App.open()`): its job is written on the
    store's own connection, in the row's transaction.
    """
    import procrastinate.exceptions

    from rb.service.definitions import require_environment
    from rb.service.keys import claim_idempotency, concurrency_key
    from rb.store.keys import add_queued, drop_key

    assert request.recording is not None, "a queued run is recorded"
    # Checked now, and again by the worker as the run starts (rb.worker.jobs).
    require_environment(request)
    store = _store_of(request)
    key = request.idempotency_key
    if key is not None:
        claim_idempotency(store, request)
    execution_id = str(uuid.uuid4())
    live = request.world_kind == "live"

    def defer(connection: Any) -> int | None:
        # In the row's transaction: the row and its job are committed together.
        return _defer(
            app,
            execution_id,
            queue,
            lock=job_lock(request),
            runbook=runbook_path,
            fixture=fixture,
            connection=connection,
        )

    try:
        job_id = add_queued(
            store,
            execution_id,
            request.runbook,
            actor=request.actor or default_actor(),
            world=request.world_kind,
            params=request.params,
            concurrency_key=concurrency_key(request) if live else None,
            idempotency_key=key,
            queue=queue,
            metadata={
                "queue": queue,
                "runbook_path": runbook_path,
                "fixture": fixture,
                "facts": dict(request.world.facts),
                **({"environment": request.environment} if request.environment else {}),
                **({"actor_verified": True} if request.actor_verified else {}),
            },
            then=defer,
        )
    except BaseException as exc:
        if key is not None:
            drop_key(store, key)  # nothing was queued: a new trigger may use it
        if isinstance(exc, procrastinate.exceptions.ConnectorException):
            raise StoreError(f"cannot queue the run in {store.shown}: {exc}") from None
        raise
    return Enqueued(execution_id, job_id, queue)


def enqueue_continuation(app: procrastinate.App, store: Store, execution_id: str) -> Enqueued:
    """Defer the job that continues a recorded, queued execution (resume, answer, hand-back).

    At most one such job waits per execution (a queueing lock): a second
    request while one waits is the same continuation, not another.
    """
    queue = queue_of(store, execution_id) or DEFAULT_QUEUE
    return Enqueued(execution_id, _defer(app, execution_id, queue), queue)


def queue_of(store: Store, execution_id: str) -> str | None:
    """The queue an execution runs on (None: it runs in the process that starts it)."""
    from rb.store.queries import metadata_of

    queue = (metadata_of(store, execution_id) or {}).get("queue")
    return str(queue) if queue else None


def abort_jobs(app: procrastinate.App, store: Store, execution_id: str) -> int:
    """Cancel the execution's waiting job, and ask its running one to stop
    (procrastinate's abort, which the worker turns into a cancel of the run)."""
    import sqlalchemy

    with store.begin() as conn:
        ids = conn.execute(
            sqlalchemy.text(
                "SELECT id FROM procrastinate_jobs WHERE task_name = :task "
                "AND status IN ('todo', 'doing') AND args->>'execution_id' = :id"
            ),
            {"task": EXECUTE_TASK, "id": execution_id},
        ).scalars()
        found = [int(i) for i in ids]
    return sum(1 for job in found if app.job_manager.cancel_job_by_id(job, abort=True))


def defer_again(
    app: procrastinate.App, execution_id: str, queue: str, lock: str | None, seconds: float
) -> int | None:
    """The job of a queued execution that could not start yet, deferred to `seconds` from now."""
    return _defer(app, execution_id, queue or DEFAULT_QUEUE, lock=lock, delay=seconds)


def _defer(
    app: procrastinate.App,
    execution_id: str,
    queue: str,
    *,
    lock: str | None = None,
    runbook: str | None = None,
    fixture: str | None = None,
    delay: float | None = None,
    connection: Any = None,
) -> int | None:
    import procrastinate.exceptions

    task = app.configure_task(
        EXECUTE_TASK,
        queue=queue,
        lock=lock,
        queueing_lock=f"execution:{execution_id}",
        schedule_in=None if delay is None else {"seconds": delay},
        connection=connection,
    )
    try:
        return int(task.defer(execution_id=execution_id, runbook=runbook, fixture=fixture))
    except procrastinate.exceptions.AlreadyEnqueued:
        return None  # a job for this execution waits already: it will do


def _store_of(request: RunRequest) -> Store:
    from rb.store.database import open_store

    assert request.recording is not None
    return request.recording.store or open_store(request.recording.db)


def continue_on_queue(
    store: Store, execution_id: str, app: procrastinate.App | None = None
) -> Enqueued | None:
    """For a run that runs on the queue, defer its continuation (None: it does not;
    the caller continues it in-process). Opens an app of its own unless given one."""
    if queue_of(store, execution_id) is None:
        return None
    if app is not None:
        return enqueue_continuation(app, store, execution_id)
    from rb.service.queue_app import queue_app

    with queue_app(store.url, max_size=1).open() as opened:
        return enqueue_continuation(opened, store, execution_id)


def queue_run(
    request: RunRequest,
    *,
    runbook_path: str,
    fixture: str | None = None,
    queue: str = DEFAULT_QUEUE,
) -> Enqueued:
    """`rb run --queue`: record the run as queued and defer its job, with an app of its own."""
    from rb.service.queue_app import apply_schema, queue_app, require_postgres

    store = _store_of(request)
    require_postgres(store.url, "--queue")
    apply_schema(store)  # a first `rb run --queue` before any worker started
    with queue_app(store.url, max_size=1).open() as app:
        return enqueue(app, request, runbook_path=runbook_path, fixture=fixture, queue=queue)


def attempt_of(store: Store, execution_id: str) -> tuple[str, int]:
    """The execution's status and its latest start's number (run_attempt)."""
    from rb.store.tables import executions

    with store.begin() as conn:
        row = conn.execute(
            executions.select()
            .with_only_columns(executions.c.status, executions.c.run_attempt)
            .where(executions.c.id == execution_id)
        ).one_or_none()
    return ("unknown", 0) if row is None else (str(row.status), int(row.run_attempt))


def wait_until_settled(store: Store, execution_id: str, *, after_attempt: int = 0) -> str:
    """Wait until a queued execution has ended or parked; its status then.

    A continuation (`after_attempt`: the attempt that parked) counts only once
    a later attempt has started. Polls with backoff (20 ms up to 1 s): a
    client that asked to wait, not the workers, pays for it.
    """
    import time

    pause = 0.02
    while True:
        status, attempt = attempt_of(store, execution_id)
        if attempt > after_attempt and status not in ("queued", "running"):
            return status
        if status == "unknown":
            return status
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
