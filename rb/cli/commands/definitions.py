"""`rb publish` and `rb definitions ...`: the definition lifecycle on the command line."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import dumps
from rb.service import definitions as lifecycle
from rb.service.identity import cli_actor
from rb.store.definitions import Definition

STATE_STYLES = {"draft": "yellow", "approved": "green", "deprecated": "dim"}


def publish(
    runbook_ref: str,
    *,
    db: str | None,
    actor: str | None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Publish a runbook file; prints id@version, its hash and state."""
    from rb.service.runbooks import find_runbook
    from rb.store.database import open_store

    out = out or sys.stdout
    path = find_runbook(runbook_ref)
    done = lifecycle.publish(open_store(db), path, cli_actor(actor), shown=_shown(path))
    d = done.definition
    if output_format == "json":
        out.write(dumps({**d.to_json(), "created": done.created}))
        return EXIT_OK
    if done.created:
        out.write(f"published {d.ref}  sha256 {d.content_hash}  {d.state}\n")
        out.write(f"next: someone other than {d.author} runs rb definitions approve {d.ref}\n")
    else:
        out.write(
            f"already published as {d.ref}  sha256 {d.content_hash}  {d.state}{_state_by(d)}\n"
        )
    return EXIT_OK


def definitions_list(
    runbook_id: str | None, *, db: str | None, output_format: str, out: TextIO | None = None
) -> int:
    """Every published version (of one runbook) as a table or JSON."""
    from rb.store.database import open_store

    out = out or sys.stdout
    store = open_store(db)
    found = lifecycle.versions(store, runbook_id)
    if output_format == "json":
        out.write(dumps([d.to_json() for d in found]))
        return EXIT_OK
    if not found:
        out.write(f"no definitions published in {store.shown}: rb publish RUNBOOK\n")
        return EXIT_OK
    rows = [
        (d.ref, _state(d.state), d.content_hash[:12], d.author, _day(d.published_at), d.path)
        for d in found
    ]
    _table(("VERSION", "STATE", "SHA256", "AUTHOR", "PUBLISHED", "PATH"), rows, out)
    return EXIT_OK


def definitions_history(
    runbook_id: str, *, db: str | None, output_format: str, out: TextIO | None = None
) -> int:
    """Each version of one runbook with who published, approved and deprecated it, and when."""
    from rb.store.database import open_store

    out = out or sys.stdout
    found = lifecycle.versions(open_store(db), runbook_id)
    if output_format == "json":
        out.write(dumps([d.to_json() for d in found]))
        return EXIT_OK
    rows = []
    for d in found:
        rows.append((d.ref, _state(d.state), "published", d.author, _time(d.published_at)))
        if d.approved_at is not None:
            rows.append(("", "", "approved", d.approved_by or "?", _time(d.approved_at)))
        if d.deprecated_at is not None:
            rows.append(("", "", "deprecated", d.deprecated_by or "?", _time(d.deprecated_at)))
    _table(("VERSION", "STATE", "EVENT", "BY", "AT (UTC)"), rows, out)
    return EXIT_OK


def change(
    ref: str, action: str, *, db: str | None, actor: str | None, out: TextIO | None = None
) -> int:
    """`approve` or `deprecate` a version."""
    from rb.store.database import open_store

    out = out or sys.stdout
    runbook_id, version = lifecycle.parse_ref(ref)
    store, who = open_store(db), cli_actor(actor)
    if action == "approve":
        d = lifecycle.approve(store, runbook_id, version, who)
    else:
        d = lifecycle.deprecate(store, runbook_id, version, who)
    out.write(f"{d.ref} {d.state}{_state_by(d)}  sha256 {d.content_hash}\n")
    return EXIT_OK


def definitions_diff(left: str, right: str, *, db: str | None, out: TextIO | None = None) -> int:
    """A unified diff; 0 when there is no difference, 1 when there is."""
    from rb.store.database import open_store

    out = out or sys.stdout
    text = lifecycle.diff(open_store(db), left, right)
    if not text:
        out.write(f"{left} and {right} are the same\n")
        return EXIT_OK
    out.write(text)
    return EXIT_FAILED


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """A rich table (colour only on a terminal); wide enough not to cut hashes."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in header:
        table.add_column(column, no_wrap=True)
    for row in rows:
        # Names and paths are the user's text, never markup; the state cell is ours.
        table.add_row(*(cell if i == 1 else escape(cell) for i, cell in enumerate(row)))
    terminal = bool(getattr(out, "isatty", lambda: False)())
    if terminal:
        Console(file=out).print(table)
        return
    plain = io.StringIO()
    Console(file=plain, width=200).print(table)
    out.write("".join(line.rstrip() + "\n" for line in plain.getvalue().splitlines()))


def _state(state: str) -> str:
    return f"[{STATE_STYLES.get(state, 'default')}]{state}[/]"


def _state_by(d: Definition) -> str:
    if d.state == "approved":
        return f" (approved by {d.approved_by})"
    if d.state == "deprecated":
        return f" (deprecated by {d.deprecated_by})"
    return ""


def _day(at: Any) -> str:
    return str(at.date().isoformat())


def _time(at: Any) -> str:
    return str(at.strftime("%Y-%m-%d %H:%M:%S"))


def _shown(path: Path) -> str:
    """The path recorded with a version: relative to this folder when inside it."""
    relative = os.path.relpath(path.resolve(), Path.cwd())
    return str(path) if relative.startswith("..") else relative
