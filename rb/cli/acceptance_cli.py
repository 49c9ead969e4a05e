"""`rb acceptance` and `rb acceptance coverage` (the commands are in rb/cli/commands/).

`rb acceptance [RUNBOOK|DIR...]` runs packs, and `rb acceptance coverage`
reports what they cover: a group whose first word, when it is not a
subcommand, is a pack to run (`rb acceptance run` is the same command).
"""

from __future__ import annotations

from typing import Annotated

import typer
import typer.core
from typer._click.core import Context  # Typer vendors click

from rb.cli.completion import complete_runbook
from rb.cli.options import (
    ActorOption,
    DbOption,
    FormatOption,
    JunitOption,
    MaxParallelOption,
    NoRecordOption,
    ReportOption,
    guard,
    path_text,
    start_recording,
)


class _PacksGroup(typer.core.TyperGroup):
    """A group that runs packs unless its first word names a subcommand."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [RUN, *args]
        return super().parse_args(ctx, args)


RUN = "run"
acceptance_app = typer.Typer(
    cls=_PacksGroup,
    help="Acceptance packs: run them, or report what they cover.",
    short_help="run acceptance packs (acceptance/<runbook-id>/acceptance.yml); coverage",
)


@acceptance_app.command(RUN, short_help="run acceptance packs (the default)")
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
    report: ReportOption = None,
    max_parallel: MaxParallelOption = None,
    no_record: NoRecordOption = False,
    actor: ActorOption = None,
    db: DbOption = None,
) -> int:
    """Run each scenario of the acceptance packs against its fixture (virtual time, nothing
    leaves the machine) and check status, KPIs, errors, outputs, screenshots and which
    steps ran. With no argument, every pack under acceptance/. Exit 0 all passed,
    1 a scenario failed, 2 a pack, runbook or fixture is invalid. See also
    `rb acceptance coverage`."""
    start_recording(no_record)
    from rb.acceptance.runner import RunOptions
    from rb.cli.commands.acceptance import acceptance

    return acceptance(
        targets or [],
        output_format=output_format,
        junit=path_text(junit),
        report=path_text(report),
        options=RunOptions(
            record=not no_record,
            db=db,
            actor=actor,
            max_parallel=max_parallel,
        ),
    )


@acceptance_app.command(
    "coverage", short_help="which dependencies and failure paths the packs exercise"
)
@guard
def coverage(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATHS",
            help="runbook ids or files, pack folders or files, or folders of packs "
            "(default: every pack under acceptance/)",
            autocompletion=complete_runbook,
        ),
    ] = None,
    minimum: Annotated[
        float | None,
        typer.Option(
            "--min",
            metavar="PERCENT",
            min=0,
            max=100,
            help="exit 1 when a runbook's dependency or failure-path coverage is below this",
        ),
    ] = None,
    output_format: FormatOption = "text",
) -> int:
    """For each runbook with an acceptance pack: which of its dependencies (HTTP endpoints,
    databases, commands, pages, Pushgateways) some scenario's fixture faults, and which
    failure paths (on_failure other than abort, rollbacks) some scenario drives. Reads the
    packs and fixtures; runs nothing. Exit 0, 1 below --min, 2 a pack is invalid."""
    from rb.cli.commands.acceptance_coverage import acceptance_coverage

    return acceptance_coverage(targets or [], minimum=minimum, output_format=output_format)


def register(app: typer.Typer) -> None:
    """Add `rb acceptance` (and `rb acceptance coverage`) to the `rb` app."""
    app.add_typer(acceptance_app, name="acceptance")
