"""Scheduled runs on a worker: the `rb.scheduled` job, and the loop that defers them.

A schedule's fire is a procrastinate periodic job (deferred once per fire
time across all workers, rb.worker.schedules). The job is a trigger: it
queues the runbook's execution with the schedule's parameters, under the
idempotency key `schedule:<runbook id>:<fire timestamp>`, so a job that is
delivered twice starts one execution.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rb.service.queue_app import SCHEDULED_TASK

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext

    from rb.worker.jobs import WorkerSetup

SCHEDULE_ACTOR = "schedule"


def run_scheduled(setup: WorkerSetup, context: JobContext, timestamp: int, runbook: str) -> str:
    """Queue the scheduled runbook's execution for the fire at `timestamp`."""
    from rb.engine.params import resolve_params
    from rb.errors import RbError
    from rb.service.enqueue import enqueue
    from rb.service.keys import AlreadyTriggered
    from rb.service.queue_app import DEFAULT_QUEUE, queue_app
    from rb.service.request import Recording, RunRequest
    from rb.service.runner import live_world
    from rb.worker.jobs import JobFailed

    book = setup.runbook(runbook)
    schedule = book.schedule
    if schedule is None:
        setup.say(f"runbook {runbook} has no schedule any more: fire {timestamp} skipped")
        return "no schedule"
    try:
        params = resolve_params(book, dict(schedule.params), from_text=False)
    except RbError as exc:
        raise JobFailed(f"worker {setup.name}: schedule of {runbook}: {exc}") from None
    request = RunRequest(
        book,
        live_world(secrets={}, facts={}),  # the worker that runs it reads its own secrets
        params=params,
        recording=Recording(store=setup.store),
        actor=SCHEDULE_ACTOR,
        idempotency_key=f"schedule:{book.id}:{timestamp}",
    )
    queue = context.job.queue or DEFAULT_QUEUE
    try:
        # A synchronous app of its own (fires are rare): the execution's row and
        # its job are written in one transaction, which the worker's
        # asynchronous pool cannot share with the store's connection.
        with queue_app(setup.store.url, max_size=1).open() as app:
            done = enqueue(app, request, runbook_path=runbook, queue=queue)
    except AlreadyTriggered as exc:
        return f"already queued as {exc.execution_id}"
    setup.say(f"schedule of {book.id} fired ({timestamp}): execution {done.execution_id} queued")
    return done.execution_id


async def schedule_loop(
    app: procrastinate.App, runbooks: Path, setup: WorkerSetup, signals: Any
) -> None:
    """Defer due fires of every scheduled runbook under `runbooks`; SIGHUP reads them again.

    Every worker runs this; procrastinate's periodic-defer table lets one
    job through per runbook and fire time, whichever worker defers it first.
    """
    from rb.worker.schedules import ScheduleDeferrer, schedule_registry

    loop = asyncio.get_running_loop()
    task = app.tasks[SCHEDULED_TASK]

    def registry() -> Any:
        return schedule_registry(app, _scheduled(runbooks, setup), task=task)

    deferrer = ScheduleDeferrer(app, await asyncio.to_thread(registry))

    def reload() -> None:
        async def again() -> None:
            deferrer.reload(await asyncio.to_thread(registry))
            setup.say(f"schedules read again from {runbooks}")

        asyncio.run_coroutine_threadsafe(again(), loop)

    signals.on_reload = reload
    try:
        await deferrer.run()
    finally:
        signals.on_reload = None


def _scheduled(folder: Path, setup: WorkerSetup) -> list[tuple[str, Any]]:
    """(path relative to the project, runbook) of each valid scheduled runbook in `folder`;
    the others are logged (`rb schedules list` shows their errors)."""
    from rb.service.schedules import scan

    found = scan(folder)
    for broken in found.broken:
        setup.say(f"schedule of {folder / broken.path} not used: it has errors (rb schedules list)")
    pairs = []
    for item in found.scheduled:
        path = (folder / item.path).resolve()
        if not path.is_relative_to(setup.project):
            setup.say(f"schedule of {path} not used: the file is outside {setup.project}")
            continue
        pairs.append((path.relative_to(setup.project).as_posix(), item.runbook))
    if pairs:
        setup.say(f"{len(pairs)} schedule(s) from {folder}")
    return pairs
