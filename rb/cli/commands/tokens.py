"""`rb tokens create|list|revoke`: API tokens in the store."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from rb.cli.render import aligned
from rb.errors import EXIT_OK
from rb.report import dumps
from rb.service.identity import cli_actor
from rb.store.tokens import Token
from rb.wording import plural


def tokens_create(
    *, db: str | None, name: str, role: str, groups: Sequence[str], out: TextIO | None = None
) -> int:
    """Make a token and print it; it is not shown again."""
    from rb.service.tokens import create_token
    from rb.store.database import open_store

    out = out or sys.stdout
    token, text = create_token(open_store(db), name, role, groups, actor=cli_actor())
    out.write(
        f"token {token.name} (id {token.id}, role {token.role}"
        + (f", groups {', '.join(token.groups)}" if token.groups else "")
        + "):\n\n"
        + f"  {text}\n\n"
        + "Copy it now: it will not be shown again (only its hash is stored). "
        + "Send it as 'Authorization: Bearer <token>'.\n"
    )
    return EXIT_OK


def tokens_list(*, db: str | None, output_format: str = "text", out: TextIO | None = None) -> int:
    """Print every token (never its secret)."""
    from rb.store.database import open_store
    from rb.store.tokens import list_tokens

    out = out or sys.stdout
    store = open_store(db)
    found = list_tokens(store)
    if output_format == "json":
        out.write(dumps([t.to_json() for t in found]))
        return EXIT_OK
    if not found:
        out.write(
            f"no tokens in {store.shown}: make one with "
            "rb tokens create --name NAME --role viewer|operator|approver|admin\n"
        )
        return EXIT_OK
    out.write(table(found))
    active = sum(t.active for t in found)
    out.write(f"{plural(len(found), 'token')}, {active} active\n")
    return EXIT_OK


def tokens_revoke(*, db: str | None, name_or_id: str, out: TextIO | None = None) -> int:
    """Revoke a token by name or id."""
    from rb.service.tokens import revoke_token
    from rb.store.database import open_store

    out = out or sys.stdout
    token = revoke_token(open_store(db), name_or_id, actor=cli_actor())
    out.write(
        f"revoked token {token.name} (id {token.id}); a running rb serve refuses it within "
        "its token cache time (5 seconds by default)\n"
    )
    return EXIT_OK


def table(found: Sequence[Token]) -> str:
    """The tokens as aligned columns, one line each."""
    header = ("NAME", "ID", "ROLE", "GROUPS", "CREATED", "BY", "REVOKED", "LAST USED")
    rows = [
        (
            t.name,
            t.id,
            t.role,
            ",".join(t.groups) or "-",
            _when(t.created_at),
            t.created_by,
            f"{_when(t.revoked_at)} by {t.revoked_by}" if t.revoked_at else "-",
            _when(t.last_used_at),
        )
        for t in found
    ]
    return aligned(header, rows)


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")
