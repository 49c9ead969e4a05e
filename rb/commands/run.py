"""`rb run RUNBOOK --param k=v`: run for real, with a live view."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, TextIO

from rb.cli.render import LiveView, PlainProgress, is_terminal, summary_lines
from rb.commands.common import environment, load_valid_runbook, parse_facts, secrets_from
from rb.engine.events import EventBus
from rb.engine.params import parse_assignments, resolve_params
from rb.engine.scheduler import execute
from rb.engine.secrets import Masker
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.plugins import step_types
from rb.report import dumps, json_report
from rb.world.live import LiveWorld


def run(
    runbook_ref: str,
    *,
    params: list[str],
    facts: list[str],
    secrets_file: str | None = None,
    max_parallel: int | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
    world: LiveWorld | None = None,
) -> int:
    """Check parameters, then run live; 0 on success, 1 on failure."""
    out = out or sys.stdout
    runbook = load_valid_runbook(runbook_ref)
    values = resolve_params(runbook, parse_assignments(params), from_text=True)
    if world is None:
        import os

        world = LiveWorld(
            env=environment(),
            secrets=secrets_from(os.environ, secrets_file),
            facts=parse_facts(facts),
        )
    live = output_format == "text" and is_terminal(out)
    bus = EventBus()
    view: Any = contextlib.nullcontext()
    if live:
        view = LiveView([s.id for s in runbook.steps], out)
        bus.subscribe(view)
    elif output_format == "text":
        bus.subscribe(PlainProgress(out))
    assert world is not None

    async def main() -> Any:
        try:
            return await execute(
                runbook,
                world,
                params=values,
                step_types=step_types(),
                bus=bus,
                max_parallel=max_parallel,
            )
        finally:
            await world.aclose()

    with view:
        result = world.run(main)
    if output_format == "json":
        out.write(dumps(json_report(runbook, result, None, None)))
    else:
        mask = Masker(world.secrets.values()).text
        for line in summary_lines(result):
            out.write(mask(line) + "\n")
        if result.error:
            out.write(f"{result.error}\n")
        out.write(f"{result.status.upper()}\n")
    return EXIT_OK if result.status == "success" else EXIT_FAILED
