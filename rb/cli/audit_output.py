"""The audit trail as a table for people (`rb audit list`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rb.store.audit import AuditRecord


def audit_table(found: Sequence[AuditRecord], out: TextIO) -> None:
    """One row a record: seq, time (UTC), actor (and whether a token vouched), action,
    subject, origin, legal basis."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("seq", "at (UTC)", "actor", "action", "subject", "origin", "legal basis"):
        # An execution id is copied from here: it is never folded.
        table.add_column(column, overflow="fold", no_wrap=column in _WHOLE)
    for r in found:
        at = r.to_json()["at"][:19].replace("T", " ")
        who = r.entry.actor if r.entry.verified else f"{r.entry.actor} (unverified)"
        cells = (
            str(r.seq),
            at,
            who,
            r.entry.action,
            r.entry.subject,
            r.entry.origin,
            r.entry.legal_basis or "-",
        )
        table.add_row(*(escape(c) for c in cells))  # the users' text, never markup
    console = Console(file=out)
    if not console.is_terminal:  # piped: lines as long as they need
        console = Console(file=out, width=_PIPED_WIDTH)
    console.print(table)


_WHOLE = ("seq", "at (UTC)", "action", "subject")
_PIPED_WIDTH = 240
