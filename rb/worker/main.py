"""`rb worker`: runs executions off the procrastinate queue until told to stop.

One process: a procrastinate Worker (LISTEN/NOTIFY for new jobs, heartbeat,
abort requests) plus rb's side tasks — stalled-job recovery, schedules and
its row in `runbook_workers`. When PostgreSQL goes away the worker stops
its session, waits and reconnects (backoff up to RECONNECT_MAX_SECONDS);
the jobs it was running come back through stalled-job recovery and resume
from their recordings. SIGTERM or SIGINT: no new jobs; running ones get
`grace` seconds, then pause at their next step boundary and are handed
back to the queue. SIGHUP: the runbooks' schedules are read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rb.service.queue_app import EXECUTE_TASK, SCHEDULED_TASK
from rb.worker.config import (
    JOB_POLL_SECONDS,
    KEEP_FINISHED_HOURS,
    POOL_WAIT_SECONDS,
    PRUNE_EVERY_SECONDS,
    RECONNECT_MAX_SECONDS,
    TAKEOVER_ATTEMPTS,
    TAKEOVER_WAIT_SECONDS,
    WorkerOptions,
)

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext

    from rb.worker.jobs import WorkerSetup


class _Signals:
    """SIGTERM/SIGINT stop the worker (also while it waits to reconnect); SIGHUP reloads."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.on_stop: Callable[[], None] | None = None
        self.on_reload: Callable[[], None] | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._reload)

    def _stop(self, _signum: int, _frame: Any) -> None:
        self.stop.set()
        if self.on_stop is not None:
            self.on_stop()

    def _reload(self, _signum: int, _frame: Any) -> None:
        if self.on_reload is not None:
            self.on_reload()


def run_worker(options: WorkerOptions, log: Callable[[str], None]) -> int:
    """Serve the queue until a signal stops it; 0 when stopped cleanly."""
    from rb.service.inputs import secrets_from
    from rb.service.queue_app import apply_schema, require_postgres
    from rb.store.database import open_store
    from rb.worker.jobs import WorkerSetup

    store = open_store(options.db)
    require_postgres(store.url, "rb worker")
    apply_schema(store)
    name = options.name or f"{socket.gethostname()}:{os.getpid()}"
    setup = WorkerSetup(
        name=name,
        project=options.project.resolve(),
        store=store,
        secrets=secrets_from(os.environ, options.secrets_file),
        log=log,
    )
    signals = _Signals()
    signals.install()
    pause = 0.5
    while not signals.stop.is_set():
        try:
            asyncio.run(_session(options, setup, signals))
        except Exception as exc:
            if signals.stop.is_set() or not _database_error(exc):
                raise
            log(
                f"PostgreSQL is unreachable ({_reason(exc)}); jobs stay queued; "
                f"reconnecting in {pause:g}s"
            )
            signals.stop.wait(pause)
            pause = min(pause * 2, RECONNECT_MAX_SECONDS)
            continue
        pause = 0.5
    log("stopped")
    return 0


async def _session(options: WorkerOptions, setup: WorkerSetup, signals: _Signals) -> None:
    """One connection's life: the procrastinate worker and rb's side tasks."""
    from procrastinate.worker import Worker

    from rb.service.queue_app import queue_app

    assert setup.store is not None
    app = queue_app(setup.store.url, max_size=options.concurrency + 4, wait=POOL_WAIT_SECONDS)
    _register_tasks(app, setup, options.queues[0])
    async with app.open_async():
        setup.app = app
        worker = Worker(
            app,
            queues=list(options.queues),
            name=setup.name,
            concurrency=options.concurrency,
            shutdown_graceful_timeout=options.grace,
            install_signal_handlers=False,
            update_heartbeat_interval=options.heartbeat,
            stalled_worker_timeout=options.stalled_after,
            # Finished jobs stay an hour (pruned below): their events give
            # /metrics the queue's wait times.
            delete_jobs="never",
            # LISTEN/NOTIFY brings new jobs and aborts at once; these polls
            # catch what comes without a notification (a retry's due time).
            fetch_job_polling_interval=JOB_POLL_SECONDS,
            abort_job_polling_interval=JOB_POLL_SECONDS,
        )
        loop = asyncio.get_running_loop()
        signals.on_stop = lambda: _soon(loop, worker.stop)
        if signals.stop.is_set():
            return
        run = asyncio.create_task(worker.run())  # type: ignore[no-untyped-call]
        side = [
            asyncio.create_task(_announce(worker, options, setup), name="registration"),
            asyncio.create_task(
                _recover_stalled(app, worker, options, setup), name="stalled-job recovery"
            ),
        ]
        if options.schedules:
            side.append(
                asyncio.create_task(_schedules(app, options, setup, signals), name="schedules")
            )
        for task in side:
            task.add_done_callback(lambda done: _report_failure(done, setup))
        try:
            await run
        finally:
            signals.on_stop = None
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            if worker.worker_id is not None:
                await _forget(setup, worker.worker_id)


def _register_tasks(app: procrastinate.App, setup: WorkerSetup, queue: str) -> None:
    """rb's two tasks; scheduled fires go to the worker's first queue."""
    import procrastinate

    from rb.worker.jobs import StillRunningElsewhere, run_job

    retry = procrastinate.RetryStrategy(
        max_attempts=TAKEOVER_ATTEMPTS,
        wait=TAKEOVER_WAIT_SECONDS,
        retry_exceptions={StillRunningElsewhere},
    )

    @app.task(name=EXECUTE_TASK, queue=queue, pass_context=True, retry=retry)
    def execute(
        context: JobContext,
        execution_id: str,
        runbook: str | None = None,
        fixture: str | None = None,
    ) -> str:
        return run_job(setup, context, execution_id, runbook, fixture)

    from rb.worker.scheduled import run_scheduled

    @app.task(name=SCHEDULED_TASK, queue=queue, pass_context=True, retry=retry)
    def scheduled(context: JobContext, timestamp: int, runbook: str) -> str:
        return run_scheduled(setup, context, timestamp, runbook)


async def _announce(worker: Any, options: WorkerOptions, setup: WorkerSetup) -> None:
    """Record this worker in runbook_workers once procrastinate has given it an id."""
    from rb.store.workers import register

    while worker.worker_id is None:
        await asyncio.sleep(0.05)  # set by Worker.run within its first round trip
    await asyncio.to_thread(
        register,
        setup.store,
        worker.worker_id,
        name=setup.name,
        queues=options.queues,
        concurrency=options.concurrency,
    )
    setup.say(
        f"started as worker {worker.worker_id} on queue(s) {', '.join(options.queues)}, "
        f"concurrency {options.concurrency}, store {setup.store.shown}"
    )


async def _forget(setup: WorkerSetup, worker_id: int) -> None:
    from rb.store.database import StoreError
    from rb.store.workers import unregister

    # The store may be away: `rb workers list` shows only live heartbeats anyway.
    with contextlib.suppress(StoreError):
        await asyncio.to_thread(unregister, setup.store, worker_id)


async def _recover_stalled(
    app: procrastinate.App, worker: Any, options: WorkerOptions, setup: WorkerSetup
) -> None:
    """Put the jobs of workers silent for `stalled_after` back on the queue.

    Every worker does this; the first to retry a job wins, the others find it
    no longer `doing`. The execution resumes from its recording (rb.worker.jobs).
    It also beats this worker's heartbeat: procrastinate stops its own when a
    stop is asked, and the runs finishing in the grace period must not look
    stalled to the other workers.
    """
    pruned = 0.0
    failing = False
    while True:
        await asyncio.sleep(options.heartbeat)
        try:
            if time.monotonic() - pruned > PRUNE_EVERY_SECONDS:
                await app.job_manager.delete_old_jobs(
                    nb_hours=KEEP_FINISHED_HOURS, include_cancelled=True, include_aborted=True
                )
                pruned = time.monotonic()
            await _housekeeping_round(app, worker, options, setup)
        except Exception as exc:  # the database is away: the next round tries again
            if not failing:
                setup.say(f"stalled-job recovery paused: {_reason(exc)}")
            failing = True
            continue
        if failing:
            setup.say("stalled-job recovery resumed")
        failing = False


async def _housekeeping_round(
    app: procrastinate.App, worker: Any, options: WorkerOptions, setup: WorkerSetup
) -> None:
    """One round: this worker's heartbeat, then the stalled workers' jobs."""
    if worker.worker_id is not None:
        await app.job_manager.update_heartbeat(worker.worker_id)
    ours = {EXECUTE_TASK, SCHEDULED_TASK}
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=options.stalled_after)
    for job in stalled:
        if job.task_name not in ours:
            continue
        try:
            await app.job_manager.retry_job(job)
        except Exception:  # another worker retried it first
            continue
        await _wake_workers(app, job.queue, job.id)
        setup.say(f"job {job.id} of a stalled worker is queued again")
    await app.job_manager.prune_stalled_workers(options.stalled_after)


async def _schedules(
    app: procrastinate.App, options: WorkerOptions, setup: WorkerSetup, signals: _Signals
) -> None:
    """Defer the runbooks' scheduled runs; SIGHUP reads the runbooks again."""
    from rb.worker.scheduled import schedule_loop

    await schedule_loop(app, options.runbooks or setup.project / "runbooks", setup, signals)


def _database_error(exc: BaseException) -> bool:
    """Whether `exc` says the database went away (then the worker reconnects)."""
    import procrastinate.exceptions
    import psycopg

    from rb.store.database import StoreError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(
            seen,
            psycopg.OperationalError
            | procrastinate.exceptions.ConnectorException
            | StoreError
            | OSError,
        ):
            return True
        if isinstance(seen, BaseExceptionGroup):
            return any(_database_error(e) for e in seen.exceptions)
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    # procrastinate wraps psycopg's message ("connection refused") in a bare
    # "Database error.": the innermost cause says what happened.
    reason = type(exc).__name__
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).strip().splitlines()
        if text:
            reason = text[0]
        seen = seen.__cause__
    return reason


def _soon(loop: asyncio.AbstractEventLoop, call: Callable[[], Any]) -> None:
    loop.call_soon_threadsafe(call)


async def _wake_workers(app: procrastinate.App, queue: str, job_id: int | None) -> None:
    """Tell listening workers a job is ready, as procrastinate's insert trigger does:
    its retry makes a job `todo` again without a notification."""
    import json

    payload = json.dumps({"type": "job_inserted", "job_id": job_id})
    await app.connector.execute_query_async(
        "SELECT pg_notify(%(any)s, %(payload)s), pg_notify(%(queue)s, %(payload)s)",
        any="procrastinate_any_queue_v1",
        queue=f"procrastinate_queue_v1#{queue}",
        payload=payload,
    )


def _report_failure(task: asyncio.Task[Any], setup: WorkerSetup) -> None:
    """A side task that died says so (it is not restarted before the next session)."""
    if task.cancelled() or task.exception() is None:
        return
    setup.say(f"{task.get_name()} stopped: {_reason(task.exception())}")  # type: ignore[arg-type]
