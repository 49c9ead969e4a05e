"""`rb audit verify|export|list`: the tamper-evident audit trail (docs/security.md).

Only options here: the work is in rb.cli.commands.audit, so `rb --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rb.cli.options import DbOption, FormatOption, guard, path_text

audit_app = typer.Typer(
    help="The audit trail: who did what, when, from where; hash-chained.",
    short_help="verify, export and list the audit trail",
)


@audit_app.command("verify", short_help="check the chain; exit 1 naming the first broken link")
@guard
def audit_verify(
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            metavar="HASH",
            help="a head hash from an earlier verify, kept elsewhere: proves the chain "
            "still reaches it (catches records deleted from the end)",
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            min=0,
            metavar="N",
            help="the record count from that verify: the chain must still have N records",
        ),
    ] = None,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """Recompute every record's hash and check each link and number. Exit 0 when the
    chain is whole (and reaches --head/--count), 1 when not."""
    from rb.cli.commands.audit import audit_verify as run

    return run(db=db, head=head, count=count, output_format=output_format)


@audit_app.command("export", short_help="records as JSON lines, for a SIEM")
@guard
def audit_export(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="records from then on: 30m, 24h, 7d, or an ISO date or time (default: all)",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", dir_okay=False, help="write here instead of stdout"
        ),
    ] = None,
    db: DbOption = None,
) -> int:
    """Write the audit records as JSON lines, oldest first: one object a line, times in
    UTC with Z, each with its seq, prev_hash and hash."""
    from rb.cli.commands.audit import audit_export as run

    return run(db=db, since=since, output=path_text(output))


@audit_app.command("list", short_help="the newest records as a table")
@guard
def audit_list(
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=1, metavar="N", show_default=False, help="at most N (default 20)"
        ),
    ] = 20,
    output_format: FormatOption = "text",
    db: DbOption = None,
) -> int:
    """The newest audit records, newest first: when, who, what, on what, from where."""
    from rb.cli.commands.audit import audit_list as run

    return run(db=db, limit=limit, output_format=output_format)


def register(app: typer.Typer) -> None:
    """Add `rb audit` to the `rb` app."""
    app.add_typer(audit_app, name="audit", no_args_is_help=True)
