"""Carrying out a RunRequest: the recorder first, then the caller's listeners."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rb.engine.context import (
    SCREENSHOT_DIR,
    ControlSource,
    RestoredStep,
    RunOptions,
    ScreenshotPolicy,
)
from rb.engine.events import EventBus, Listener
from rb.engine.outcome import ExecutionResult
from rb.engine.scheduler import execute as run_engine
from rb.engine.secrets import Masker
from rb.model import Runbook
from rb.plugins import step_types
from rb.service.request import RECORDED, Recording, RunRequest, default_actor

if TYPE_CHECKING:
    from rb.store.continuation import Continuation
    from rb.store.database import Store
    from rb.store.notifications import NotificationRow
    from rb.store.recorder import Recorder
    from rb.world.base import World
    from rb.world.fixture_format import Fixture
    from rb.world.live import LiveWorld

BASELINES = Path("screenshots")  # screenshots/<runbook-id>/<step-id>.png


@dataclass(frozen=True)
class Ran:
    """A finished run: its result, and its recorded id (None when not recorded)."""

    result: ExecutionResult
    execution_id: str | None
    # What the runbook's notify: sent (or, under a fixture, recorded) for this run.
    notifications: tuple[NotificationRow, ...] = ()


@dataclass(frozen=True)
class Resuming:
    """A run that continues a recorded execution (rb.service.durable), or a
    queued one's first start (rb.service.keys)."""

    continuation: Continuation  # the recorded execution, updated instead of inserted
    restored: Mapping[str, RestoredStep]  # its finished steps, not run again
    execution_id: str  # the id and start the run saw the first time
    started_at: str | None  # None: the run starts now (a queued one)
    cancelled: str | None = None  # why: a parked run cancelled, only its rollbacks run


def execute(request: RunRequest, *, resuming: Resuming | None = None) -> Ran:
    """Run the request's runbook in its world; recorded unless `recording` is None.

    Idempotency and concurrency keys are taken first and let go after
    (rb/service/keys.py): AlreadyTriggered, IdempotencyConflict or
    ConcurrencyBusy instead of a run.
    """
    if resuming is not None:
        # A resumed run holds the slot it took when it first started (a
        # waiting run keeps it); it is freed once the run ends for good.
        ran = _execute(request, resuming)
        if request.recording is not None and request.recording.store is not None:
            from rb.store.keys import release_slots

            release_slots(request.recording.store, resuming.execution_id)
        return ran
    from rb.service.definitions import require_environment
    from rb.service.keys import take_keys

    require_environment(request)
    keys = take_keys(request)
    try:
        assert keys.request is not None
        if keys.queued_id is not None:
            # It waited for a concurrency slot: the file must still be approved as it starts.
            require_environment(keys.request)
        # A run that waited as `queued` records into that row: the id it had
        # while it waited is the id of the run.
        queued = keys.continuation
        starting = Resuming(queued, {}, queued.execution_id, None) if queued else None
        return _execute(keys.request, starting)
    finally:
        keys.release()


def _execute(request: RunRequest, resuming: Resuming | None) -> Ran:
    """Run the request's runbook in its world; recorded unless `recording` is None.

    A run that stops without finishing (recording failed, a crash, Ctrl-C)
    still ends in a final state in the store before the error goes on. A
    recorded live run hears `rb cancel` and `rb pause` (rb.service.control).
    """
    bus = EventBus()
    world = request.world
    kind = request.world_kind
    recorder = None
    store: Store | None = None
    control: ControlSource | None = None
    if request.recording is not None:
        from rb.store.database import open_store
        from rb.store.recorder import Recorder
        from rb.world.recording import RecordingWorld

        store, reap = request.recording.store, False
        if store is None:
            # A store of our own: reap runs whose process died, once per
            # process (the server reaps its own).
            store = open_store(request.recording.db)
            reap, store.reaped = not store.reaped, True
        recorder = Recorder(
            store,
            request.runbook,
            actor=request.actor or default_actor(),
            world=kind,
            now=world.now,
            facts=world.facts,
            replay_of=request.recording.replay_of,
            downstream=request.listeners,  # told of each event once it is committed
            reap=reap,
            continuing=resuming.continuation if resuming else None,
            environment=request.environment,
            actor_verified=request.actor_verified,
        )
        bus.subscribe(recorder)
        if world.inbox is None:
            # Approval and wait_event steps read answers from the store the run
            # is recorded in (a fixture world answers from its fixture).
            from rb.store.inbox import StoreInbox

            world.inbox = StoreInbox(store)
        if kind == "live":
            from rb.service.control import StoreControl

            control = StoreControl(store, lambda: recorder.execution_id if recorder else None)
        world = RecordingWorld(world, recorder)
    else:
        for listener in request.listeners:
            bus.subscribe(listener)
    if request.control is not None:
        from rb.service.control import EitherControl

        control = request.control if control is None else EitherControl(control, request.control)
    running = world
    notes: list[NotificationRow] = []
    options = RunOptions(
        world=kind,
        jitter=kind == "live",
        screenshots=request.screenshots,
        control=control,
        execution_id=resuming.execution_id if resuming else None,
        started_at=resuming.started_at if resuming else None,
        check_assumptions=resuming is None or resuming.continuation.first_start,
        cancelled=resuming.cancelled if resuming else None,
    )

    async def main() -> ExecutionResult:
        try:
            result = await run_engine(
                request.runbook,
                running,
                params=request.params,
                step_types=step_types(),
                bus=bus,
                max_parallel=request.max_parallel,
                options=options,
                restored=resuming.restored if resuming else None,
            )
            if request.runbook.notify and kind != "replay":  # a replay only verifies
                notes.extend(await _notify(request.runbook, result, running, recorder, store))
            return result
        finally:
            await running.aclose()

    if recorder is None:
        return Ran(world.run(main), None, tuple(notes))
    try:
        result = world.run(main)
        recorder.close()  # raises what a listener raised while told of a committed event
    except BaseException as exc:
        _end_unfinished(recorder, exc, Masker(world.secrets).text)
        raise
    recorder.finish(result)
    if notes and store is not None and recorder.execution_id is not None:
        _keep_notifications(store, recorder.execution_id, notes)
    return Ran(result, recorder.execution_id, tuple(notes))


async def _notify(
    runbook: Runbook,
    result: ExecutionResult,
    world: World,
    recorder: Recorder | None,
    store: Store | None,
) -> list[NotificationRow]:
    """Send what the runbook's notify: says for how the run ended (rb.service.notify).

    A recorded run's record is committed first, so that whoever follows the
    message's link finds the run as it ended.
    """
    from rb.service.notify import for_run

    if recorder is not None:
        recorder.close()
    execution_id = (recorder.execution_id if recorder else None) or result.execution_id
    return await for_run(runbook, result, world, execution_id, store)


def _keep_notifications(store: Store, execution_id: str, rows: list[NotificationRow]) -> None:
    """Store the run's notifications; a store that refuses them only costs a log line."""
    import logging

    from rb.store.database import StoreError
    from rb.store.notifications import append

    try:
        append(store, execution_id, rows)
    except StoreError as exc:
        logging.getLogger("rb.notify").warning(
            "the notifications of run %s were not recorded: %s", execution_id[:8], exc
        )


def _end_unfinished(recorder: Recorder, exc: BaseException, mask: Callable[[str], str]) -> None:
    """A run that stopped without finishing still ends in a final state.

    Recording failed: the run stopped before its next step, and the store (if
    it can be reached) says why. A crash or Ctrl-C: `failure` or `interrupted`,
    so that no execution stays `running` in a process that lives on (`rb serve`).
    """
    from rb.store.database import StoreError
    from rb.store.writer import RecordingFailed

    if isinstance(exc, RecordingFailed):
        step = recorder.stopped_before
        error = f"recording failed ({exc}); the run was stopped before step {step!r}"
        told = recorder.abandon("failure", error)
        where = f"recorded as {recorder.execution_id}" if told else "the store was not told"
        raise StoreError(f"{error} ({where}); the steps shown as finished are recorded") from None
    if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError | SystemExit):
        recorder.abandon("interrupted", f"stopped: {type(exc).__name__}")
    else:
        recorder.abandon("failure", mask(f"rb failed: {type(exc).__name__}: {exc}"))


def fixture_request(
    runbook: Runbook,
    fixture: Fixture,
    *,
    params: Mapping[str, Any] | None = None,
    listeners: Sequence[Listener] = (),
    max_parallel: int | None = None,
    recording: Recording | None = RECORDED,
    actor: str | None = None,
    update_snapshots: bool = False,
    baselines: bool = True,
    resolved: Mapping[str, Any] | None = None,
) -> RunRequest:
    """A run of `runbook` with the outside world served from `fixture`, as `rb test` does.

    The fixture's params, with `params` over them, are checked like --param.
    UI steps compare with their baselines in screenshots/<runbook-id>/ (a
    missing one fails under CI); without `baselines` they only keep the shot,
    as in `rb run` (the server never writes baselines into the project).
    `resolved` is the parameters a caller has already checked (the fixture's
    with `params` over them, resolved): they are not checked again.
    """
    from rb.engine.params import resolve_params
    from rb.world.fixture import FixtureWorld

    shots = ScreenshotPolicy(
        output_dir=SCREENSHOT_DIR / runbook.id,
        baseline_dir=BASELINES / runbook.id if baselines else None,
        update=update_snapshots,
        ci=bool(os.environ.get("CI")),
    )
    return RunRequest(
        runbook,
        FixtureWorld(fixture),
        params=resolved
        if resolved is not None
        else resolve_params(runbook, {**fixture.params, **(params or {})}, from_text=False),
        recording=recording,
        actor=actor,
        screenshots=shots,
        max_parallel=max_parallel,
        listeners=listeners,
    )


def live_world(*, secrets: Mapping[str, str], facts: Mapping[str, Any]) -> LiveWorld:
    """The world of a live run: this process's environment without rb's secret
    variables, the given secrets, and the facts assumptions are checked against."""
    from rb.service.inputs import environment
    from rb.world.live import LiveWorld

    return LiveWorld(env=environment(), secrets=secrets, facts=facts)
