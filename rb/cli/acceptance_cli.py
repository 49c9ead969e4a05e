"""`rb acceptance` (the command itself is rb/cli/commands/acceptance.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from rb.cli.completion import complete_runbook
from rb.cli.options import (
    ActorOption,
    DbOption,
    FormatOption,
    JunitOption,
    MaxParallelOption,
    NoRecordOption,
    guard,
    path_text,
    start_recording,
)


@guard
def acceptance(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUNBOOK|DIR",
            help="a runbook id or file, a pack folder or file, or a folder of packs "
            "(default: every pack under acceptance/)",
            autocompletion=complete_runbook,
        ),
    ] = None,
    output_format: FormatOption = "text",
    junit: JunitOption = None,
    max_parallel: MaxParallelOption = None,
    no_record: NoRecordOption = False,
    actor: ActorOption = None,
    db: DbOption = None,
) -> int:
    """Run each scenario of the acceptance packs against its fixture (virtual time, nothing
    leaves the machine) and check status, KPIs, errors, outputs, screenshots and which
    steps ran. With no argument, every pack under acceptance/. Exit 0 all passed,
    1 a scenario failed, 2 a pack, runbook or fixture is invalid."""
    start_recording(no_record)
    from rb.acceptance.runner import RunOptions
    from rb.cli.commands.acceptance import acceptance

    return acceptance(
        targets or [],
        output_format=output_format,
        junit=path_text(junit),
        options=RunOptions(
            record=not no_record,
            db=db,
            actor=actor,
            max_parallel=max_parallel,
        ),
    )


def register(app: typer.Typer) -> None:
    """Add `rb acceptance` to the `rb` app."""
    app.command(
        "acceptance", short_help="run acceptance packs (acceptance/<runbook-id>/acceptance.yml)"
    )(acceptance)
