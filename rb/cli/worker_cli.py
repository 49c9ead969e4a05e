"""`rb worker` (run executions off the queue) and `rb workers list` (who is serving it).

Only options here: procrastinate and the rest are imported when the command
runs, so `rb --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rb.cli.options import DbOption, SecretsFileOption, guard, path_text
from rb.service.queue_app import DEFAULT_QUEUE  # light
from rb.worker.config import (  # light
    DEFAULT_CONCURRENCY,
    DEFAULT_GRACE_SECONDS,
    DEFAULT_HEARTBEAT_SECONDS,
    DEFAULT_STALLED_AFTER_SECONDS,
)


@guard
def worker(
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            metavar="N",
            help="executions this worker runs at once (each in a thread of its own)",
        ),
    ] = DEFAULT_CONCURRENCY,
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue", metavar="NAME", help=f"queue to serve (repeatable; default {DEFAULT_QUEUE})"
        ),
    ] = None,
    db: DbOption = None,
    project: Annotated[
        Path,
        typer.Option(
            "--project",
            metavar="DIR",
            file_okay=False,
            help="the project folder: job paths (runbooks, fixtures) are relative to it",
        ),
    ] = Path("."),
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="how rb workers list and logs name it (default host:pid)"
        ),
    ] = None,
    secrets_file: SecretsFileOption = None,
    heartbeat: Annotated[
        float,
        typer.Option(
            "--heartbeat",
            min=0.1,
            metavar="SECONDS",
            help="how often this worker says it is alive",
        ),
    ] = DEFAULT_HEARTBEAT_SECONDS,
    stalled_after: Annotated[
        float,
        typer.Option(
            "--stalled-after",
            min=0.5,
            metavar="SECONDS",
            help="a worker silent this long is presumed dead: its executions resume elsewhere",
        ),
    ] = DEFAULT_STALLED_AFTER_SECONDS,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            metavar="SECONDS",
            help="after SIGTERM, how long running executions may go on before they are "
            "paused at their next step and handed back to the queue",
        ),
    ] = DEFAULT_GRACE_SECONDS,
    no_schedules: Annotated[
        bool,
        typer.Option("--no-schedules", help="do not fire the runbooks' schedules from here"),
    ] = False,
) -> int:
    """Run executions off the PostgreSQL queue until SIGTERM or Ctrl-C (docs/scaling.md)."""
    from rb.cli.commands.worker import worker as run

    return run(
        concurrency=concurrency,
        queues=tuple(queue or (DEFAULT_QUEUE,)),
        db=db,
        project=project,
        name=name,
        secrets_file=path_text(secrets_file),
        heartbeat=heartbeat,
        stalled_after=stalled_after,
        grace=grace,
        schedules=not no_schedules,
    )


def register(app: typer.Typer) -> None:
    """Add `rb worker` to the `rb` app."""
    app.command(
        "worker",
        short_help="run executions off the PostgreSQL queue (procrastinate)",
        help="Run executions that rb serve and rb run --queue put on the queue, with any "
        "number of workers on any number of machines sharing one PostgreSQL store. A killed "
        "worker's executions resume on another from their recordings; executions waiting for "
        "an approval or an event hold no worker. See docs/scaling.md.",
    )(worker)
