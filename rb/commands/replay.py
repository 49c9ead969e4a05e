"""`rb replay ID`: run a recording again and prove the result is identical."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from rb.commands.common import require_valid
from rb.commands.execution import run_recorded
from rb.engine.events import Listener
from rb.engine.params import resolve_params
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.loader import load_file, load_text
from rb.plugins import step_types
from rb.replay import ReplayReport, compare, report_lines
from rb.store.database import open_store
from rb.store.export import fixture_from_run
from rb.store.queries import Run, add_metadata, load_run, reap_interrupted
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

if TYPE_CHECKING:
    from rb.store.database import Store


def replay(
    ref: str,
    *,
    db: str | None = None,
    definition: str | None = None,
    live: bool = False,
    output_format: str = "text",
    actor: str | None = None,
    out: TextIO | None = None,
) -> int:
    """Replay; 0 when verified, 1 when it diverged."""
    out = out or sys.stdout
    store = open_store(db)
    run = load_run(store, ref)
    if live:
        from rb.drift import drift

        return drift(run, output_format=output_format, out=out)
    reap_interrupted(store)
    report = replay_recording(run, store=store, definition=definition, actor=actor)
    if output_format == "json":
        out.write(json.dumps(report.as_json(), indent=2, sort_keys=True) + "\n")
    else:
        for line in report_lines(report):
            out.write(line + "\n")
        if report.replay_id:
            out.write(f"replay recorded as {report.replay_id}\n")
    return EXIT_OK if report.verified else EXIT_FAILED


def replay_recording(
    run: Run,
    *,
    store: Store,
    definition: str | None = None,
    actor: str | None = None,
    listeners: Sequence[Listener] = (),
) -> ReplayReport:
    """Run a recording again against itself (virtual time) and compare.

    The replay is recorded too (world `replay`, `replay_of` the original),
    with the verdict in its metadata, so an audit finds the proof beside it.
    `definition` replays a changed runbook file instead of the recorded one.
    """
    loaded = (
        load_file(definition)
        if definition
        else load_text(run.row["definition"], run.row["definition_path"])
    )
    runbook = require_valid(loaded)
    fixture = from_data(fixture_from_run(run), f"recording {run.id}")
    world = FixtureWorld(fixture)
    params = resolve_params(runbook, fixture.params, from_text=False)
    result, replay_id = run_recorded(
        runbook,
        world,
        params=params,
        listeners=listeners,
        store=store,
        actor=actor,
        world_name="replay",
        replay_of=run.id,
    )
    report = dataclasses.replace(
        compare(run, result, world, runbook, step_types()), replay_id=replay_id
    )
    if replay_id is not None:
        add_metadata(store, replay_id, replay=report.as_json())
    return report
