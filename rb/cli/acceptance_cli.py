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
    help="Acceptance packs: run them, report what they cover, or generate failure scenarios.",
    short_help="run acceptance packs (acceptance/<runbook-id>/acceptance.yml); coverage; generate",
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
    `rb acceptance coverage` and `rb acceptance generate`."""
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


@acceptance_app.command(
    "generate", short_help="generate failure scenarios from a runbook's declarations and run them"
)
@guard
def generate(
    runbook: Annotated[
        str,
        typer.Argument(
            metavar="RUNBOOK",
            help="a runbook id or file",
            autocompletion=complete_runbook,
        ),
    ],
    fixture: Annotated[
        str | None,
        typer.Option(
            "--fixture",
            metavar="FILE",
            help="the golden fixture (default: the one under fixtures/ whose `runbook:` is its id)",
        ),
    ] = None,
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="where the pack and fixtures go (default: acceptance/generated/<runbook-id>/)",
        ),
    ] = None,
    run_them: Annotated[
        bool,
        typer.Option("--run/--no-run", help="run the generated scenarios (default: run)"),
    ] = True,
    output_format: FormatOption = "text",
    max_parallel: MaxParallelOption = None,
) -> int:
    """For each dependency the runbook touches (HTTP endpoints, databases, commands,
    Pushgateways) and each fault that matters for it (timeout, connection refused, 500, 401,
    429, a malformed or schema-drifted body, a database error, a failing exit code), write
    the golden fixture with that fault and a scenario whose expected outcome follows from the
    runbook's on_failure, retry, rollback and expect_status declarations; then run them.
    Exit 0 every declaration held, 1 findings (a policy that does not do what it says),
    2 the runbook or fixture is invalid. Same runbook and fixture, same bytes."""
    from rb.acceptance.runner import RunOptions
    from rb.cli.commands.acceptance_generate import acceptance_generate

    return acceptance_generate(
        runbook,
        fixture=fixture,
        out_dir=out_dir,
        run_them=run_them,
        output_format=output_format,
        options=RunOptions(record=False, max_parallel=max_parallel),
    )


def register(app: typer.Typer) -> None:
    """Add `rb acceptance` (and `rb acceptance coverage`) to the `rb` app."""
    app.add_typer(acceptance_app, name="acceptance")
