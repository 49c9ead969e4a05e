"""`rb runs list|show|export|stats` (recorded executions) and `rb db upgrade` (the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from rb.cli.options import DbOption, ExecutionIdArgument, FormatOption, RunStatus, guard

runs_app = typer.Typer(
    help="Recorded executions.", short_help="list, show, export and count recorded executions"
)
db_app = typer.Typer(help="The store database.", short_help="manage the store database")


@runs_app.command("list", short_help="recorded runs, newest first")
@guard
def runs_list(
    runbook: Annotated[
        str | None,
        typer.Option("--runbook", metavar="ID", help="only runs of this runbook id"),
    ] = None,
    status: Annotated[
        RunStatus | None, typer.Option("--status", help="only runs that ended so")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="WHEN", help="30m, 2h, 7d, or an ISO time"),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            show_default=False,
            help="show at most N runs (default 20)",
        ),
    ] = 20,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Recorded runs, newest first."""
    from rb.cli.commands import runs

    return runs.runs_list(
        db=db,
        runbook=runbook,
        status=status,
        since=since,
        limit=limit,
        output_format=output_format,
    )


@runs_app.command("show", short_help="one run: steps, timings, errors, exchanges")
@guard
def runs_show(
    execution: ExecutionIdArgument, output_format: FormatOption = "text", db: DbOption = None
) -> int:
    """One run in full."""
    from rb.cli.commands import runs

    return runs.runs_show(execution, db=db, output_format=output_format)


@runs_app.command("export", short_help="write a recording as a fixture")
@guard
def runs_export(
    execution: ExecutionIdArgument,
    fixture: Annotated[
        Path,
        typer.Option("--fixture", metavar="FILE", dir_okay=False, help="YAML, or JSON for .json"),
    ],
    db: DbOption = None,
) -> int:
    """Write a recorded run as a fixture for rb test."""
    from rb.cli.commands import runs

    return runs.runs_export(execution, str(fixture), db=db)


@runs_app.command("stats", short_help="success rate, p50/p95 per step and endpoint, errors")
@guard
def runs_stats(
    runbook: Annotated[str, typer.Argument(metavar="RUNBOOK", help="the runbook's id")],
    since: Annotated[
        str,
        typer.Option("--since", metavar="WHEN", help="30m, 2h, 7d, or an ISO time"),
    ] = "30d",
    world: Annotated[
        Literal["live", "fixture", "all"],
        typer.Option("--world", help="runs of the live world, of fixtures, or both"),
    ] = "live",
    bucket: Annotated[
        str,
        typer.Option("--bucket", metavar="WIDTH", help="errors counted per 1d, 1h, 6h..."),
    ] = "1d",
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """A runbook's recorded runs as numbers: success rate, durations, per step,
    per endpoint, and error kinds over time (exit 1: no run of it recorded)."""
    from rb.cli.commands.stats import runs_stats as stats

    return stats(
        runbook, db=db, since=since, world=world, bucket=bucket, output_format=output_format
    )


@db_app.command("upgrade", short_help="migrate to the newest schema")
@guard
def db_upgrade(db: DbOption = None) -> int:
    """Migrate the store to the newest schema."""
    from rb.cli.commands.runs import db_upgrade

    return db_upgrade(db=db)


def register(app: typer.Typer) -> None:
    """Add `rb runs` and `rb db` to the `rb` app."""
    app.add_typer(runs_app, name="runs", no_args_is_help=True)
    app.add_typer(db_app, name="db", no_args_is_help=True)
