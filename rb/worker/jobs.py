"""What an `rb worker` does with an `rb.execute` job: start, continue or take over a run.

The job names an execution; its row says what to do. `queued`: its first
start, from the runbook file on this worker. `waiting` or `interrupted`:
continue it from its recording (finished steps are restored, not run
again). `running`: a job handed back by stalled-job recovery; the run is
taken over once its previous worker is known to be gone. A final state:
nothing (a duplicate delivery is harmless). Everything runs through the run
service, as `rb run` does.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rb.errors import RbError
from rb.store.keys import FINAL

if TYPE_CHECKING:
    import procrastinate
    from procrastinate.job_context import JobContext

    from rb.model import Runbook
    from rb.service.request import RunRequest
    from rb.service.runner import Ran
    from rb.store.database import Store
    from rb.store.records import Execution
    from rb.world.base import World

ABORT_POLL_SECONDS = 0.05  # how often a run looks at its job's abort flag (in memory)
BUSY_RETRY_SECONDS = 2.0  # a run whose concurrency slot a parked run holds asks again after


class JobFailed(RbError):
    """The job cannot run its execution; the message names the worker and what to fix."""


class StillRunningElsewhere(Exception):
    """The execution's previous worker may still be alive: procrastinate retries the job later."""


@dataclass
class WorkerSetup:
    """What every job of one worker shares."""

    name: str  # as `rb workers list` and messages show it
    project: Path  # runbook and fixture paths in jobs are relative to it
    store: Store
    secrets: Mapping[str, str] = field(repr=False)
    app: procrastinate.App | None = None  # to defer hand-backs and retries
    log: Any = None  # callable(str) -> None: the worker's log
    # Executions this process runs now: a `running` row of ours that is not
    # among them was abandoned (PostgreSQL went away mid-run) and is taken over.
    running: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _books: dict[Path, tuple[tuple[int, int], Runbook]] = field(default_factory=dict, repr=False)

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def runbook(self, relative: str) -> Runbook:
        """The valid runbook at `relative` (loaded again only when the file changed)."""
        from rb.loader import load_file
        from rb.service.runbooks import require_valid

        path = self.inside(relative, "runbook")
        try:
            st = path.stat()
        except OSError:
            raise JobFailed(
                f"worker {self.name}: runbook file {path} not found; deploy the project's "
                f"runbooks to {self.project} on this worker (or start it with --project)"
            ) from None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._books.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            book = require_valid(load_file(path))
        except RbError as exc:
            raise JobFailed(f"worker {self.name}: runbook file {path}: {exc}") from None
        with self._lock:
            self._books[path] = (stamp, book)
        return book

    def inside(self, relative: str, what: str) -> Path:
        """The real path of a job's file, which must lie inside the project."""
        path = Path(os.path.realpath(self.project / relative))
        if not path.is_relative_to(self.project):
            raise JobFailed(f"worker {self.name}: {what} {relative!r} is outside {self.project}")
        return path


class JobControl:
    """A ControlSource from procrastinate's abort of the job.

    A user's abort (`rb cancel`, the API) cancels the run; the worker's
    shutdown after its grace period pauses it at the next step boundary, and
    the job hands the run back to the queue (`shutdown`).
    """

    def __init__(self, context: JobContext, heard: Callable[[str], None] | None = None) -> None:
        self.context = context
        self.shutdown = False
        self.heard = heard  # told each action as the run is asked for it (the worker's log)
        self._told: set[str] = set()

    async def next_action(self) -> str:
        """Wait until the job is asked to abort: `cancel`, or `pause` on shutdown."""
        from procrastinate.job_context import AbortReason

        while True:
            reason = self.context.abort_reason()
            action = None
            if reason is AbortReason.SHUTDOWN:
                action = "pause"
            elif reason is not None:
                action = "cancel"
            if action is not None and action not in self._told:
                self._told.add(action)
                self.shutdown = action == "pause"
                if self.heard is not None:
                    self.heard(action)
                return action
            await asyncio.sleep(ABORT_POLL_SECONDS)


def run_job(
    setup: WorkerSetup,
    context: JobContext,
    execution_id: str,
    runbook: str | None,
    fixture: str | None,
) -> str:
    """Carry out one `rb.execute` job; returns what became of the execution."""
    from rb.store.queries import get_run

    store = setup.store
    run = get_run(store, execution_id, with_exchanges=False)
    if run is None:
        raise JobFailed(f"worker {setup.name}: no execution {execution_id} in {store.shown}")
    if run.status in FINAL:
        return f"already {run.status}"  # delivered twice: the first delivery did it
    control = JobControl(context, lambda action: _heard(setup, execution_id, action))
    with setup._lock:
        here = execution_id in setup.running  # another job of this worker runs it
        setup.running.add(execution_id)
    try:
        if run.status == "queued":
            ran = _start(setup, run, runbook or run.metadata.get("runbook_path"), fixture, control)
            if ran is None:
                return "queued"
        else:
            if run.status == "running":
                _take_over(setup, run, running_here=here)
            ran = _continue(setup, run, control)
    finally:
        if not here:
            with setup._lock:
                setup.running.discard(execution_id)
    status = ran.result.status
    if control.shutdown and status == "waiting" and setup.app is not None:
        from rb.service.enqueue import enqueue_continuation

        enqueue_continuation(setup.app, store, execution_id)  # handed back: another worker goes on
        status = "handed back"
    setup.say(f"execution {execution_id}: {status}")
    return status


def _heard(setup: WorkerSetup, execution_id: str, action: str) -> None:
    # Operators see why a run stops on this worker; tests wait for these lines.
    if action == "pause":
        setup.say(
            f"execution {execution_id}: worker stopping, the run pauses at its next step "
            "and goes back on the queue"
        )
    else:
        setup.say(f"execution {execution_id}: its job was aborted, the run is cancelled")


def _start(
    setup: WorkerSetup,
    run: Execution,
    runbook: Any,
    fixture: str | None,
    control: JobControl,
) -> Ran | None:
    """The first start of a queued execution (None: it waits for a concurrency slot)."""
    from rb.engine.params import resolve_params
    from rb.service.definitions import require_environment
    from rb.service.request import Recording, RunRequest
    from rb.service.runner import Resuming, execute, fixture_request, live_world
    from rb.store.continuation import queued_start

    try:
        if not isinstance(runbook, str) or not runbook:
            raise JobFailed(f"worker {setup.name}: the job names no runbook file")
        book = setup.runbook(runbook)
        params = resolve_params(book, run.metadata.get("params", {}), from_text=False)
        recording = Recording(store=setup.store)
        request: RunRequest
        if fixture:
            request = fixture_request(
                book,
                _fixture(setup, fixture),
                params=params,
                recording=recording,
                actor=run.actor,
                baselines=False,
            )
        else:
            world = live_world(secrets=setup.secrets, facts=run.metadata.get("facts") or {})
            request = RunRequest(book, world, params=params, recording=recording, actor=run.actor)
        # Checked when the run was queued; again now that it starts, from this
        # worker's file (it may have been edited, or its version deprecated).
        request = replace(request, environment=run.metadata.get("environment"))
        require_environment(request)
    except RbError as exc:
        _fail(setup.store, run.id, str(exc))
        raise JobFailed(str(exc)) from None
    request = replace(request, control=control)
    if not _slot(setup, run, request):
        return None
    setup.say(f"execution {run.id}: started ({book.id})")
    resuming = Resuming(queued_start(run.id, run.metadata), {}, run.id, None)
    return execute(request, resuming=resuming)


def _fixture(setup: WorkerSetup, relative: str) -> Any:
    from rb.errors import UsageError
    from rb.world.fixture_format import load_fixture

    try:
        return load_fixture(setup.inside(relative, "fixture"))
    except UsageError as exc:
        raise JobFailed(f"worker {setup.name}: {exc}") from None


def _slot(setup: WorkerSetup, run: Execution, request: RunRequest) -> bool:
    """Take the run's concurrency slot; when all are held, refuse or ask again later."""
    from rb.service.keys import concurrency_key
    from rb.store.keys import take_slot

    concurrency = request.runbook.concurrency
    key = concurrency_key(request) if request.world_kind == "live" else None
    if concurrency is None or key is None:
        return True
    if take_slot(setup.store, key, concurrency.limit, run.id) is not None:
        return True
    if concurrency.when_busy == "reject":
        _fail(
            setup.store,
            run.id,
            f"refused: runbook {request.runbook.id!r} is already running for concurrency key "
            f"{key!r} (limit {concurrency.limit}; when_busy: reject)",
        )
        return False
    if setup.app is not None:
        from rb.service.enqueue import defer_again, job_lock

        queue = str(run.metadata.get("queue") or "")
        defer_again(setup.app, run.id, queue, job_lock(request), BUSY_RETRY_SECONDS)
    return False


def _take_over(setup: WorkerSetup, run: Execution, *, running_here: bool) -> None:
    """A `running` execution whose job came back: interrupted, if its worker is gone.

    Gone: its process is dead (same host) or silent (rb.store.lease), or it
    is this process and no job here runs it (its job ended when PostgreSQL
    went away).
    """
    from rb.store import lease
    from rb.store.records import aware
    from rb.store.tables import executions

    now = datetime.now(UTC)
    with setup.store.begin() as conn:
        row = conn.execute(
            executions.select()
            .with_only_columns(executions.c.lease, executions.c.heartbeat_at)
            .where(executions.c.id == run.id)
        ).one()
    holder = row.lease
    abandoned = holder == lease.current() and not running_here
    gone = not running_here and lease.is_dead(holder, aware(row.heartbeat_at), now)
    if not (gone or abandoned):
        raise StillRunningElsewhere(f"execution {run.id} is still held by {holder}")
    with setup.store.begin() as conn:
        conn.execute(
            executions.update()
            .where(executions.c.id == run.id, executions.c.status == "running")
            .values(status="interrupted", completed_at=now)
        )
    setup.say(f"execution {run.id}: taken over from {holder}")


def _continue(setup: WorkerSetup, run: Execution, control: JobControl) -> Ran:
    """Resume a waiting or interrupted execution from its recording, in its own world."""
    from rb.service.durable import resume

    world: World
    fixture = run.metadata.get("fixture")
    if fixture:
        from rb.world.fixture import FixtureWorld

        world = FixtureWorld(_fixture(setup, str(fixture)))
    else:
        from rb.service.runner import live_world

        world = live_world(secrets=setup.secrets, facts=run.metadata.get("facts") or {})
    setup.say(f"execution {run.id}: continued ({run.status})")
    return resume(run.id, store=setup.store, actor=run.actor, world=world, control=control)


def _fail(store: Store, execution_id: str, error: str) -> None:
    """A queued execution that cannot start ends as a failure that says why."""
    from rb.store.queries import fail_queued

    fail_queued(store, execution_id, error)
