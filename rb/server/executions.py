"""Executing, replaying and reading executions for the server's front ends.

A request is checked first, off the event loop but outside the execution
pool (runbook found and valid, fixture inside the project, inputs fit the
parameters), so a bad one is answered at once even when every worker is
busy. The run then takes a worker thread from a bounded pool — `world.run`
drives an event loop of its own there — and is recorded exactly as `rb test`
and `rb run` record it, through the run service (rb.service).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from rb.engine.events import Listener
from rb.engine.params import resolve_params
from rb.errors import RbError
from rb.replay import ReplayReport
from rb.server.catalog import Catalog, Fixtures
from rb.server.config import DEFAULT_ACTOR, ServerConfig
from rb.server.database import ServerStore
from rb.server.errors import ApiError, from_rb_error, log, log_bug
from rb.server.events.feed import Feed, FeedRegistry
from rb.server.metrics import Metrics
from rb.server.queued import Queue
from rb.service.enqueue import Enqueued
from rb.service.keys import AlreadyTriggered
from rb.service.request import Recording, RunRequest
from rb.service.runner import execute, fixture_request, live_world
from rb.store.database import Store
from rb.store.queries import get_run, reap_interrupted
from rb.store.records import Execution

T = TypeVar("T")
# Runs in a worker; its listeners feed `feed` (which learns the recorded id).
Job = Callable[[Feed, Sequence[Listener]], T]


@dataclass(frozen=True)
class ExecuteRequest:
    """What a client asks to run. Without a fixture the run is live."""

    runbook_id: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    fixture: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    actor: str = DEFAULT_ACTOR
    idempotency_key: str | None = None  # the Idempotency-Key header
    # The runbook's environments: rules apply (live runs), and its access: there.
    environment: str | None = None


@dataclass(frozen=True)
class Launched(Generic[T]):
    """A run handed to the pool: its live feed and what the job returns."""

    feed: Feed
    done: asyncio.Future[T]

    async def execution_id(self) -> str:
        """The recorded id, as soon as the run is recorded as started."""
        either: set[asyncio.Future[Any]] = {self.feed.started, self.done}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if self.feed.started.done():
            return self.feed.started.result()
        self.done.result()  # raises the job's error, if it failed before starting
        raise ApiError(500, "the execution ended without starting")


@dataclass(frozen=True)
class Replayed:
    report: ReplayReport
    run: Execution | None  # the replay's record


class ExecutionService:
    """Starts runs in the worker pool and reads records back."""

    def __init__(self, config: ServerConfig, store: ServerStore, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.catalog = Catalog(config.runbooks)
        self.fixtures = Fixtures(config.project)
        self.feeds = FeedRegistry(config.retained_streams)
        self._pool = ThreadPoolExecutor(
            max_workers=config.max_concurrent, thread_name_prefix="rb-execution"
        )
        # Queue mode: runs go to rb worker processes (rb.server.queued).
        self.queue = (
            Queue(config.queue, config.project, config.db, config.max_concurrent + 2)
            if config.queue
            else None
        )

    # Executing -----------------------------------------------------------------
    async def execute(self, request: ExecuteRequest) -> Launched[Execution | None] | Enqueued:
        """Check the request, then start the run (or, in queue mode, queue it);
        4xx ApiError for a bad request."""
        if self.queue is not None:
            return await run_in_threadpool(self._enqueue, self.queue, request)
        job = await run_in_threadpool(self._prepare, request)
        return self.launch(job)

    def _enqueue(self, queue: Queue, request: ExecuteRequest) -> Enqueued:
        run = self._queued(request)
        return queue.submit(self._store(), run, run.runbook.source.path, request.fixture)

    def _queued(self, request: ExecuteRequest) -> RunRequest:
        """The run a worker will carry out, checked here; secrets are the worker's."""
        runbook = self.catalog.runbook(request.runbook_id)
        store = self._store()
        if request.fixture is not None:
            if request.facts:
                raise ApiError(400, "facts come from the fixture; leave out facts or fixture")
            fixture = self.fixtures.load(request.fixture)
            run = fixture_request(
                runbook,
                fixture,
                params=request.inputs,
                recording=Recording(store=store),
                actor=request.actor,
                baselines=False,
            )
        else:
            try:
                params = resolve_params(runbook, request.inputs, from_text=False)
            except RbError as exc:
                raise from_rb_error(exc) from None
            world = live_world(secrets={}, facts=request.facts)
            run = RunRequest(
                runbook, world, params=params, recording=Recording(store=store), actor=request.actor
            )
        return self._as_asked(run, request)

    def _prepare(self, request: ExecuteRequest) -> Job[Execution | None]:
        runbook = self.catalog.runbook(request.runbook_id)
        store = self._store()
        fixture = None
        if request.fixture is not None:
            if request.facts:
                raise ApiError(400, "facts come from the fixture; leave out facts or fixture")
            fixture = self.fixtures.load(request.fixture)
        try:
            # Checked here so a bad input is a 400 before a worker is taken.
            given = {**fixture.params, **request.inputs} if fixture else request.inputs
            params = resolve_params(runbook, given, from_text=False)
        except RbError as exc:
            raise from_rb_error(exc) from None

        def job(feed: Feed, listeners: Sequence[Listener]) -> Execution | None:
            if fixture is not None:
                run = fixture_request(
                    runbook,
                    fixture,
                    params=request.inputs,
                    listeners=listeners,
                    recording=Recording(store=store),
                    actor=request.actor,
                    baselines=False,
                    resolved=params,
                )
            else:
                recording = Recording(store=store)
                world = live_world(secrets=self.config.secrets, facts=request.facts)
                run = RunRequest(
                    runbook,
                    world,
                    params=params,
                    recording=recording,
                    actor=request.actor,
                    listeners=listeners,
                )
            execute(self._as_asked(run, request))
            found = feed.execution_id
            return get_run(store, found, with_exchanges=False) if found else None

        return job

    @staticmethod
    def _as_asked(run: RunRequest, request: ExecuteRequest) -> RunRequest:
        # The actor is a token's identity (rb/server/auth.py): the record says verified.
        return replace(
            run,
            idempotency_key=request.idempotency_key,
            environment=request.environment,
            actor_verified=True,
        )

    async def finished(self, started: Launched[Execution | None] | Enqueued) -> Execution | None:
        """The record of a started run once it has ended (a queued one: ended or parked)."""
        if isinstance(started, Enqueued):
            from rb.server.queued import settled

            return await settled(self._store(), started.execution_id)
        return await started.done

    # Replaying -------------------------------------------------------------------
    async def replay(self, execution_id: str, actor: str) -> Launched[Replayed]:
        """Start a replay of a recorded execution; 404 unknown, 409 still running."""
        from rb.replay import replay_recording

        run = await run_in_threadpool(self._read, execution_id, True)
        if run is None:
            raise ApiError(404, f"no execution {execution_id!r}")
        if run.status == "running":
            raise ApiError(409, f"execution {execution_id!r} is still running; replay it after")
        store = self._store()

        def job(_feed: Feed, listeners: Sequence[Listener]) -> Replayed:
            report = replay_recording(run, store=store, actor=actor, listeners=listeners)
            found = report.replay_id
            return Replayed(report, get_run(store, found, with_exchanges=False) if found else None)

        return self.launch(job)

    # Reading ---------------------------------------------------------------------
    async def get(self, execution_id: str) -> Execution | None:
        """The recorded execution with its step logs (None if unknown).

        A record left `running` by a process that has died is marked
        `interrupted` first, as the CLI does when it opens the store.
        """
        run = await run_in_threadpool(self._read, execution_id, False)
        running_elsewhere = (
            run is not None and run.status == "running" and not self.feeds.is_running(execution_id)
        )
        if running_elsewhere:
            run = await run_in_threadpool(self._reap_and_read, execution_id)
        return run

    def _read(self, execution_id: str, with_exchanges: bool) -> Execution | None:
        return get_run(self._store(), execution_id, with_exchanges=with_exchanges)

    def _reap_and_read(self, execution_id: str) -> Execution | None:
        reap_interrupted(self._store())
        return self._read(execution_id, False)

    def _store(self) -> Store:
        try:
            return self.store.ready()
        except RbError as exc:
            raise from_rb_error(exc) from None

    # The pool --------------------------------------------------------------------
    def launch(self, job: Job[T]) -> Launched[T]:
        """Run `job` in the worker pool, with its feed and metrics, as every run is."""
        loop = asyncio.get_running_loop()
        feed = self.feeds.open(loop)
        done = loop.run_in_executor(self._pool, self._run, job, feed)

        def finished(future: asyncio.Future[T]) -> None:
            # Runs after the run's last event has reached the loop (that was
            # scheduled first). Reading the error marks it seen: a run started
            # without waiting has nobody else to read it, and it was logged.
            feed.close()
            if not future.cancelled():
                future.exception()

        done.add_done_callback(finished)
        return Launched(feed, done)

    def _run(self, job: Job[T], feed: Feed) -> T:
        with self.metrics.tracking() as observe:
            try:
                return job(feed, (feed, observe))
            except (ApiError, AlreadyTriggered):  # the route answers with the first run
                raise
            except RbError as exc:
                error = from_rb_error(exc)
                log.warning("execution failed: %s", error.message)
                raise error from None
            except Exception as exc:
                log_bug(exc, self.config.secrets)
                raise ApiError(
                    500, "internal error (a bug in rb); the server log has details"
                ) from None

    def close(self) -> None:
        """Wait for running executions; drop queued ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.queue is not None:
            self.queue.close()
