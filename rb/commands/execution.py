"""Running a runbook with its listeners: the recorder first, then the console."""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rb.engine.context import SCREENSHOT_DIR, ScreenshotPolicy
from rb.engine.events import EventBus, Listener
from rb.engine.outcome import ExecutionResult
from rb.engine.scheduler import execute
from rb.engine.secrets import Masker
from rb.model import Runbook
from rb.plugins import step_types
from rb.world.base import World

if TYPE_CHECKING:
    from rb.store.database import Store
    from rb.store.recorder import Recorder
    from rb.world.fixture_format import Fixture
    from rb.world.live import LiveWorld

BASELINES = Path("screenshots")  # screenshots/<runbook-id>/<step-id>.png


def default_actor() -> str:
    """Who runs rb: the OS user (overridden by --actor)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def run_recorded(
    runbook: Runbook,
    world: World,
    *,
    params: Mapping[str, Any],
    listeners: Sequence[Listener] = (),
    max_parallel: int | None = None,
    record: bool = True,
    db: str | None = None,
    store: Store | None = None,
    actor: str | None = None,
    world_name: str | None = None,
    replay_of: str | None = None,
    screenshots: ScreenshotPolicy | None = None,
) -> tuple[ExecutionResult, str | None]:
    """Execute in `world`; with `record`, every step and exchange goes to the store.

    The store is `store` when given (a server keeps one open and reaps
    interrupted runs itself), else `db` is opened. Returns the result and the
    recorded execution id (None when not recorded).
    """
    bus = EventBus()
    recorder = None
    if record:
        from rb.store.database import open_store
        from rb.store.recorder import Recorder
        from rb.world.recording import RecordingWorld

        # A store of our own: reap runs whose process died, once per process
        # (the server reaps its own).
        reap = False
        if store is None:
            store = open_store(db)
            reap, store.reaped = not store.reaped, True
        recorder = Recorder(
            store,
            runbook,
            actor=actor or default_actor(),
            world=world_name or world.name,
            now=world.now,
            facts=world.facts,
            replay_of=replay_of,
            downstream=listeners,  # told of each event once it is committed
            reap=reap,
        )
        bus.subscribe(recorder)
        world = RecordingWorld(world, recorder)
    else:
        for listener in listeners:
            bus.subscribe(listener)
    running = world

    async def main() -> ExecutionResult:
        try:
            return await execute(
                runbook,
                running,
                params=params,
                step_types=step_types(),
                bus=bus,
                max_parallel=max_parallel,
                screenshots=screenshots,
            )
        finally:
            await running.aclose()

    if recorder is None:
        return world.run(main), None
    try:
        result = world.run(main)
        recorder.close()  # raises what a listener raised while told of a committed event
    except BaseException as exc:
        _end_unfinished(recorder, exc, Masker(world.secrets).text)
        raise
    recorder.finish(result)
    return result, recorder.execution_id


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


def run_in_fixture(
    runbook: Runbook,
    fixture: Fixture,
    *,
    params: Mapping[str, Any] | None = None,
    listeners: Sequence[Listener] = (),
    max_parallel: int | None = None,
    record: bool = True,
    db: str | None = None,
    store: Store | None = None,
    actor: str | None = None,
    update_snapshots: bool = False,
    baselines: bool = True,
) -> ExecutionResult:
    """Run `runbook` with the outside world served from `fixture`, as `rb test` does.

    The fixture's params, with `params` over them, are checked like --param.
    UI steps compare with their baselines in screenshots/<runbook-id>/ (a
    missing one fails under CI); without `baselines` they only keep the shot,
    as in `rb run` (the server never writes baselines into the project).
    """
    from rb.engine.params import resolve_params
    from rb.world.fixture import FixtureWorld

    shots = ScreenshotPolicy(
        output_dir=SCREENSHOT_DIR / runbook.id,
        baseline_dir=BASELINES / runbook.id if baselines else None,
        update=update_snapshots,
        ci=bool(os.environ.get("CI")),
    )
    result, _ = run_recorded(
        runbook,
        FixtureWorld(fixture),
        params=resolve_params(runbook, {**fixture.params, **(params or {})}, from_text=False),
        listeners=listeners,
        max_parallel=max_parallel,
        record=record,
        db=db,
        store=store,
        actor=actor,
        screenshots=shots,
    )
    return result


def live_world(*, secrets: Mapping[str, str], facts: Mapping[str, Any]) -> LiveWorld:
    """The world of a live run: this process's environment without rb's secret
    variables, the given secrets, and the facts assumptions are checked against."""
    from rb.commands.common import environment
    from rb.world.live import LiveWorld

    return LiveWorld(env=environment(), secrets=secrets, facts=facts)
