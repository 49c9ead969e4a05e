"""`rb schedules list`: each scheduled runbook with its next fire times."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rb.errors import EXIT_OK, EXIT_USAGE, UsageError
from rb.report import dumps
from rb.service.schedules import Broken, Upcoming, scan, upcoming
from rb.wording import plural


def schedules_list(
    *,
    runbooks: Path,
    count: int = 3,
    output_format: str = "text",
    at: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the next `count` fires of each scheduled runbook under `runbooks`.

    Exit 2 when a file with a schedule has errors (they are printed too).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if not runbooks.is_dir():
        raise UsageError(f"--runbooks {runbooks}: no such folder; give the folder of runbooks")
    now = parse_at(at)
    found = scan(runbooks)
    rows = upcoming(found, now, count)
    if output_format == "json":
        out.write(dumps(_json(rows, found.broken, now)))
    else:
        out.write(_table(rows))
        for broken in found.broken:
            for d in broken.diagnostics:
                err.write(d.text() + "\n")
            if broken.problem:
                err.write(f"{runbooks / broken.path}: error: {broken.problem}\n")
        if found.broken:
            verb = "is" if len(found.broken) == 1 else "are"
            err.write(
                f"{plural(len(found.broken), 'scheduled runbook')} with errors {verb} not "
                "scheduled; fix the errors (rb validate) and reload the workers\n"
            )
    return EXIT_USAGE if found.broken else EXIT_OK


def parse_at(at: str | None) -> datetime:
    """`--at` as an aware datetime (a time without an offset is UTC); now when absent."""
    if at is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        raise UsageError(
            f"--at {at!r} is not an ISO time; write e.g. 2027-03-27T12:00:00Z"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fire_text(fire: datetime) -> str:
    utc = fire.astimezone(UTC)
    return f"{fire:%Y-%m-%d %H:%M} {fire.tzname()}  ({utc:%Y-%m-%d %H:%M} UTC)"


def _table(rows: list[Upcoming]) -> str:
    if not rows:
        return "no scheduled runbooks\n"
    header = ("RUNBOOK", "CRON", "TIMEZONE", "MISSED", "NEXT FIRES")
    cells = [
        (r.item.runbook.id, r.item.schedule.cron, r.item.schedule.timezone, _missed(r))
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [header[:4], *cells]) for i in range(4)]

    def line(parts: tuple[str, ...], last: str) -> str:
        return "  ".join(p.ljust(w) for p, w in zip(parts, widths, strict=True)) + "  " + last

    lines = [line(header[:4], header[4])]
    blank = ("",) * 4
    for row, parts in zip(rows, cells, strict=True):
        fires = [_fire_text(f) for f in row.fires] or ["-"]
        lines.append(line(parts, fires[0]))
        lines.extend(line(blank, f) for f in fires[1:])
    return "\n".join(text.rstrip() for text in lines) + "\n"


def _missed(row: Upcoming) -> str:
    schedule = row.item.schedule
    return (
        schedule.missed if schedule.missed == "skip" else f"{schedule.missed}/{schedule.catch_up}"
    )


def _json(rows: list[Upcoming], broken: tuple[Broken, ...], now: datetime) -> dict[str, Any]:
    return {
        "at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "schedules": [
            {
                "runbook": r.item.runbook.id,
                "path": r.item.path,
                "cron": r.item.schedule.cron,
                "timezone": r.item.schedule.timezone,
                "params": dict(r.item.schedule.params),
                "missed": r.item.schedule.missed,
                "catch_up": r.item.schedule.catch_up,
                "next": [
                    {
                        "local": f.isoformat(),
                        "utc": f.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    }
                    for f in r.fires
                ],
            }
            for r in rows
        ],
        "errors": [
            {
                "path": b.path,
                "problem": b.problem,
                "diagnostics": [
                    {
                        "file": d.file,
                        "line": d.line,
                        "col": d.col,
                        "code": d.code,
                        "message": d.message,
                    }
                    for d in b.diagnostics
                ],
            }
            for b in broken
        ],
    }
