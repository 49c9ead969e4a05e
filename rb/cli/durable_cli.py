"""`rb resume`, `rb retry`, `rb cancel`, `rb pause` (docs/durability.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from rb.cli.options import ActorOption, DbOption, ExecutionIdArgument, FormatOption, guard


def resume(
    execution: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="execution id, a unique prefix, or 'last' (not with --due)",
            show_default=False,
        ),
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="resume every parked run whose approval or event deadline has passed (cron)",
        ),
    ] = False,
    actor: ActorOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Continue a stopped or waiting run; its finished steps are not run again."""
    from rb.cli.commands import durable
    from rb.errors import UsageError

    if due:
        if execution is not None:
            raise UsageError("give an execution ID or --due, not both")
        return durable.resume_due(db=db, actor=actor, output_format=output_format)
    if execution is None:
        raise UsageError("give the execution ID to resume (or --due)")
    return durable.resume(execution, db=db, actor=actor, output_format=output_format)


def retry(
    execution: ExecutionIdArgument,
    step: Annotated[
        str,
        typer.Option(
            "--step", metavar="STEP", help="the step to run again, with every step after it"
        ),
    ],
    actor: ActorOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Run a step and everything downstream of it again; the steps before it are restored."""
    from rb.cli.commands import durable

    return durable.retry(execution, step, db=db, actor=actor, output_format=output_format)


def cancel(
    execution: ExecutionIdArgument,
    actor: ActorOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Cancel a run: running steps are stopped (a shell step's whole process group ends)."""
    from rb.cli.commands import durable

    return durable.control(execution, "cancel", db=db, actor=actor, output_format=output_format)


def pause(
    execution: ExecutionIdArgument,
    actor: ActorOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Pause a run: running steps finish, no new ones start; rb resume continues it."""
    from rb.cli.commands import durable

    return durable.control(execution, "pause", db=db, actor=actor, output_format=output_format)


def register(app: typer.Typer) -> None:
    """Add the commands to the `rb` app."""
    app.command("resume", short_help="continue a stopped or waiting run")(guard(resume))
    app.command("retry", short_help="run a step and those after it again")(guard(retry))
    app.command("cancel", short_help="cancel a run")(guard(cancel))
    app.command("pause", short_help="pause a run (no new steps start)")(guard(pause))
