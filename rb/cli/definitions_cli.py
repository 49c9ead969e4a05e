"""`rb publish` and `rb definitions list|history|approve|deprecate|diff` (docs/definitions.md).

Only options here: the work is in rb.cli.commands.definitions, so `rb --help`
stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rb.cli.options import ActorOption, DbOption, FormatOption, RunbookArgument, guard

definitions_app = typer.Typer(
    help="Published runbook definitions: draft, approved (by someone other than the "
    "author), deprecated.",
    short_help="list, approve, deprecate and compare published definitions",
)

RefArgument = Annotated[
    str, typer.Argument(metavar="ID@VERSION", help="a published version, e.g. restart-api@3")
]
ApproverOption = Annotated[
    str | None,
    typer.Option(
        "--actor", metavar="NAME", help="who does it (default: $RB_ACTOR, else the OS user)"
    ),
]


def publish(
    runbook: RunbookArgument,
    db: DbOption = None,
    actor: ActorOption = None,
    output_format: FormatOption = "text",
) -> int:
    """Store RUNBOOK's exact text as its next version, a draft (the same text again is the
    version it already is). The file must pass rb validate. Exit 2 when it does not."""
    from rb.cli.commands.definitions import publish as run

    return run(runbook, db=db, actor=actor, output_format=output_format)


@definitions_app.command("list", short_help="published versions and their states")
@guard
def definitions_list(
    runbook_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="only this runbook's versions")
    ] = None,
    db: DbOption = None,
    output_format: FormatOption = "text",
) -> int:
    """Every published version (of runbook ID): state, hash, author, when published."""
    from rb.cli.commands.definitions import definitions_list as run

    return run(runbook_id, db=db, output_format=output_format)


@definitions_app.command("history", short_help="one runbook's versions: who did what, when")
@guard
def definitions_history(
    runbook_id: Annotated[str, typer.Argument(metavar="ID", help="a runbook id")],
    db: DbOption = None,
    output_format: FormatOption = "text",
) -> int:
    """Each version of runbook ID: published, approved and deprecated, by whom and when."""
    from rb.cli.commands.definitions import definitions_history as run

    return run(runbook_id, db=db, output_format=output_format)


@definitions_app.command("approve", short_help="approve a draft (not its author)")
@guard
def definitions_approve(ref: RefArgument, db: DbOption = None, actor: ApproverOption = None) -> int:
    """Approve version ID@VERSION, a draft. Its author may not (two-person rule): exit 1."""
    from rb.cli.commands.definitions import change

    return change(ref, "approve", db=db, actor=actor)


@definitions_app.command("deprecate", short_help="deprecate a draft or approved version")
@guard
def definitions_deprecate(
    ref: RefArgument, db: DbOption = None, actor: ApproverOption = None
) -> int:
    """Deprecate version ID@VERSION: it no longer runs where an environment requires approval."""
    from rb.cli.commands.definitions import change

    return change(ref, "deprecate", db=db, actor=actor)


@definitions_app.command("diff", short_help="what changed between two versions, or vs a file")
@guard
def definitions_diff(
    left: RefArgument,
    right: Annotated[
        str, typer.Argument(metavar="ID@VERSION|FILE", help="another version, or a runbook file")
    ],
    db: DbOption = None,
) -> int:
    """A unified diff from version ID@VERSION to another version or to a file on disk.
    Exit 0 when they are the same, 1 when they differ."""
    from rb.cli.commands.definitions import definitions_diff as run

    return run(left, right, db=db)


def register(app: typer.Typer) -> None:
    """Add `rb publish` and `rb definitions` to the `rb` app."""
    app.command("publish", short_help="publish a runbook file as a new definition version")(
        guard(publish)
    )
    app.add_typer(definitions_app, name="definitions", no_args_is_help=True)
