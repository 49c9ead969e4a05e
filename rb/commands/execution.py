"""Running a runbook with its listeners: the recorder first, then the console."""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from typing import Any

from rb.engine.context import ScreenshotPolicy
from rb.engine.events import EventBus, Listener
from rb.engine.outcome import ExecutionResult
from rb.engine.scheduler import execute
from rb.model import Runbook
from rb.plugins import step_types
from rb.world.base import World


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
    actor: str | None = None,
    world_name: str | None = None,
    replay_of: str | None = None,
    screenshots: ScreenshotPolicy | None = None,
) -> tuple[ExecutionResult, str | None]:
    """Execute in `world`; with `record`, every step and exchange goes to the store.

    Returns the result and the recorded execution id (None when not recorded).
    """
    bus = EventBus()
    recorder = None
    if record:
        from rb.store.database import open_store
        from rb.store.queries import reap_interrupted
        from rb.store.recorder import Recorder
        from rb.world.recording import RecordingWorld

        store = open_store(db)
        reap_interrupted(store)
        recorder = Recorder(
            store,
            runbook,
            actor=actor or default_actor(),
            world=world_name or world.name,
            now=world.now,
            facts=world.facts,
            replay_of=replay_of,
            downstream=listeners,  # told of each event once it is committed
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

    try:
        result = world.run(main)
    finally:
        if recorder is not None:
            recorder.close()
    if recorder is None:
        return result, None
    recorder.finish(result)
    return result, recorder.execution_id
