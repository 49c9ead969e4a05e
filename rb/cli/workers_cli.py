"""`rb workers list`: the live `rb worker` processes and what they run.

Only options here: the query runs in rb.cli.commands.workers, so `rb --help`
stays fast.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from rb.cli.options import DbOption, guard
from rb.worker.config import DEFAULT_STALLED_AFTER_SECONDS  # light

workers_app = typer.Typer(
    help="The rb worker processes serving the PostgreSQL queue.",
    short_help="live workers and what they run",
)


@workers_app.command("list", short_help="live workers: queues, heartbeat, running executions")
@guard
def workers_list(
    db: DbOption = None,
    output_format: Annotated[
        Literal["table", "json"],
        typer.Option("--format", help="output: table for people, json for programs"),
    ] = "table",
    stalled_after: Annotated[
        float,
        typer.Option(
            "--stalled-after",
            min=0.1,
            metavar="SECONDS",
            help="a worker whose last heartbeat is older than this is not shown "
            "(as rb worker --stalled-after: it is presumed dead)",
        ),
    ] = DEFAULT_STALLED_AFTER_SECONDS,
) -> int:
    """Live workers, by name: host, process, queues, concurrency, the age of their
    last heartbeat and the executions they run now. Needs a PostgreSQL store."""
    from rb.cli.commands.workers import workers_list as run

    return run(db=db, output_format=output_format, stalled_after=stalled_after)


def register(app: typer.Typer) -> None:
    """Add `rb workers` to the `rb` app."""
    app.add_typer(workers_app, name="workers")
