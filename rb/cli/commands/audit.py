"""`rb audit verify|export|list`: checking, exporting and reading the audit trail."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rb.errors import EXIT_FAILED, EXIT_OK, UsageError
from rb.report import dumps
from rb.wording import plural

if TYPE_CHECKING:
    from rb.store.audit import AuditRecord

_HASH = re.compile(r"[0-9a-f]{64}\Z")


def audit_verify(
    *,
    db: str | None,
    head: str | None = None,
    count: int | None = None,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Check the chain (against an anchor when given); 0 intact, 1 broken."""
    from rb.service.audit import verify_trail

    out = out or sys.stdout
    if head is not None:
        head = head.strip().lower()
        if not _HASH.match(head):
            raise UsageError(
                f"--head takes a record's hash, 64 hexadecimal characters, not {head!r} "
                "(the `head` of rb audit verify --format json)"
            )
    shown, found = verify_trail(db, head=head, count=count)
    if output_format == "json":
        out.write(dumps({"store": shown, **found.to_json()}))
    else:
        verdict = "OK" if found.ok else "BROKEN"
        out.write(f"audit trail of {shown}: {verdict}\n{found.reason}\n")
        if found.ok and found.count:
            out.write(f"anchor: rb audit verify --head {found.head} --count {found.head_seq}\n")
    return EXIT_OK if found.ok else EXIT_FAILED


def audit_export(
    *, db: str | None, since: str | None, output: str | None = None, out: TextIO | None = None
) -> int:
    """Write records as JSON lines (one object a line, UTC times with Z), oldest first."""
    from rb.service.audit import export_since

    found = export_since(db, since)
    if output is None:
        written = _write_lines(found, out or sys.stdout)
    else:
        with Path(output).open("w", encoding="utf-8") as f:
            written = _write_lines(found, f)
        print(f"wrote {plural(written, 'audit record')} to {output}", file=sys.stderr)
    return EXIT_OK


def _write_lines(found: Iterable[AuditRecord], out: TextIO) -> int:
    written = 0
    for record in found:
        out.write(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        written += 1
    return written


def audit_list(
    *, db: str | None, limit: int, output_format: str = "text", out: TextIO | None = None
) -> int:
    """The newest `limit` records, newest first: a table, or JSON."""
    from rb.cli.audit_output import audit_table
    from rb.service.audit import recent

    out = out or sys.stdout
    shown, found = recent(db, limit)
    if output_format == "json":
        out.write(dumps([r.to_json() for r in found]))
        return EXIT_OK
    if not found:
        out.write(f"no audit records in {shown}\n")
        return EXIT_OK
    audit_table(found, out)
    return EXIT_OK
