"""`rb approve`, `rb reject` (approval steps) and `rb event send` (wait_event steps)."""

from __future__ import annotations

from typing import Annotated

import typer

from rb.cli.options import DbOption, ExecutionIdArgument, FormatOption, guard

event_app = typer.Typer(help="Events runs wait for.", short_help="send events to waiting runs")

StepOption = Annotated[
    str | None,
    typer.Option("--step", metavar="STEP", help="the approval step (needed if several wait)"),
]
CommentOption = Annotated[
    str | None, typer.Option("--comment", metavar="TEXT", help="why; recorded with the decision")
]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USER", help="who decides (default: the OS user)"),
]


@guard
def approve(
    execution_id: ExecutionIdArgument,
    step: StepOption = None,
    comment: CommentOption = None,
    as_user: AsOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Approve a run's approval step; the run goes on once enough people approved."""
    from rb.cli.commands import waits

    return waits.decide_command(
        execution_id,
        "approve",
        step=step,
        comment=comment,
        actor=as_user,
        db=db,
        output_format=output_format,
    )


@guard
def reject(
    execution_id: ExecutionIdArgument,
    step: StepOption = None,
    comment: CommentOption = None,
    as_user: AsOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Reject a run's approval step: the step fails, and its on_failure applies."""
    from rb.cli.commands import waits

    return waits.decide_command(
        execution_id,
        "reject",
        step=step,
        comment=comment,
        actor=as_user,
        db=db,
        output_format=output_format,
    )


@event_app.command("send", short_help="send an event; a run waiting for it goes on")
@guard
def event_send(
    name: Annotated[str, typer.Argument(metavar="NAME", help="the event's name")],
    key: Annotated[
        str, typer.Option("--key", metavar="KEY", help="correlation key the step waits for")
    ],
    data: Annotated[
        str, typer.Option("--data", metavar="JSON", help="the payload, as JSON (default null)")
    ] = "null",
    keep: Annotated[
        float | None,
        typer.Option(
            "--keep",
            min=0,
            metavar="SECONDS",
            help="keep it this long for a step that is not waiting yet (default 86400)",
        ),
    ] = None,
    as_user: AsOption = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Send an event: a run parked waiting for NAME with KEY goes on; else it is kept."""
    from rb.cli.commands import waits

    return waits.event_command(
        name, key=key, data=data, keep=keep, actor=as_user, db=db, output_format=output_format
    )


def register(app: typer.Typer) -> None:
    """Add `rb approve`, `rb reject` and `rb event` to the `rb` app."""
    app.command("approve", short_help="approve a waiting approval step")(approve)
    app.command("reject", short_help="reject a waiting approval step")(reject)
    app.add_typer(event_app, name="event", no_args_is_help=True)
