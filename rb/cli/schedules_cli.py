"""`rb schedules list`: scheduled runbooks and their next fire times (docs/scheduling.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rb.cli.options import FormatOption, guard

schedules_app = typer.Typer(
    help="Runbooks with a schedule: block, run by rb worker at their fire times.",
    short_help="scheduled runbooks and their next fire times",
)


@schedules_app.command("list", short_help="each scheduled runbook with its next fire times")
@guard
def schedules_list(
    runbooks: Annotated[
        Path,
        typer.Option(
            "--runbooks", metavar="DIR", file_okay=False, help="folder of runbooks to look in"
        ),
    ] = Path("runbooks"),
    count: Annotated[
        int,
        typer.Option("--count", min=1, max=1000, metavar="N", help="how many fire times to show"),
    ] = 3,
    output_format: FormatOption = "text",
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="ISO",
            help="work out the fires after this time instead of now (no offset: UTC)",
        ),
    ] = None,
) -> int:
    """Each runbook with a schedule: its cron, time zone, missed policy and next fire
    times (in its time zone and in UTC). Exit 2 when a scheduled runbook has errors."""
    from rb.cli.commands import schedules

    return schedules.schedules_list(
        runbooks=runbooks, count=count, output_format=output_format, at=at
    )


def register(app: typer.Typer) -> None:
    """Add `rb schedules` to the `rb` app."""
    app.add_typer(schedules_app, name="schedules", no_args_is_help=True)
