"""`rb tokens create|list|revoke`: the API tokens `rb serve` accepts (docs/security.md).

Only options here: the store is opened in rb.cli.commands.tokens, so
`rb --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rb.cli.options import DbOption, FormatOption, guard

ROLE_HELP = "viewer (read), operator (run), approver (decide approvals), admin (everything)"

tokens_app = typer.Typer(
    help="API tokens for rb serve: each is an identity with a role; actions made with it "
    "are recorded under its name (docs/security.md).",
    short_help="API tokens: create, list, revoke",
)


@tokens_app.command("create", short_help="make a token (shown once)")
@guard
def tokens_create(
    name: Annotated[
        str,
        typer.Option("--name", metavar="NAME", help="the identity API actions are recorded as"),
    ],
    role: Annotated[str, typer.Option("--role", metavar="ROLE", help=ROLE_HELP)],
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group", metavar="GROUP", help="a group a runbook's access: may list; repeatable"
        ),
    ] = None,
    db: DbOption = None,
) -> int:
    """Make a token for NAME with ROLE and print it once: only its hash is stored."""
    from rb.cli.commands.tokens import tokens_create as run

    return run(db=db, name=name, role=role, groups=tuple(group or ()))


@tokens_app.command("list", short_help="every token: name, id, role, groups, use")
@guard
def tokens_list(db: DbOption = None, output_format: FormatOption = "text") -> int:
    """Every token, revoked ones too: name, id, role, groups, who made it and when,
    revocation and last use. Never the token itself (it is not stored)."""
    from rb.cli.commands.tokens import tokens_list as run

    return run(db=db, output_format=output_format)


@tokens_app.command("revoke", short_help="revoke a token by name or id")
@guard
def tokens_revoke(
    name_or_id: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="the token's name or id")],
    db: DbOption = None,
) -> int:
    """Revoke a token: it no longer authenticates (a running rb serve may accept it
    for a few more seconds: docs/security.md)."""
    from rb.cli.commands.tokens import tokens_revoke as run

    return run(db=db, name_or_id=name_or_id)


def register(app: typer.Typer) -> None:
    """Add `rb tokens` to the `rb` app."""
    app.add_typer(tokens_app, name="tokens", no_args_is_help=True)
