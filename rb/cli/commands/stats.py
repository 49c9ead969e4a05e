"""`rb runs stats RUNBOOK`: a runbook's recorded runs as rich tables, or JSON."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from rb.errors import EXIT_OK
from rb.report import dumps
from rb.wording import plural

if TYPE_CHECKING:
    from rb.store.stats import RunbookStats, Spread

_PIPED_WIDTH = 200


def runs_stats(
    runbook: str,
    *,
    db: str | None,
    since: str,
    world: str,
    bucket: str,
    output_format: str = "text",
    out: TextIO | None = None,
) -> int:
    """Print the numbers (exit 0, also when no run falls in the window)."""
    from rb.service.stats import runbook_stats

    out = out or sys.stdout
    found = runbook_stats(runbook, db=db, since=since, world=world, bucket=bucket)
    s = found.stats
    if output_format == "json":
        out.write(dumps(s.to_json()))
        return EXIT_OK
    when = s.since.isoformat(timespec="seconds")
    if not s.runs:
        out.write(
            f"no {_worlds(s.world)} runs of {s.runbook_id} recorded since {when} in "
            f"{found.store}: try an earlier --since, or --world fixture|all\n"
        )
        return EXIT_OK
    out.write(_headline(s, when))
    _print(out, _runs_table(s), _steps_table(s), _endpoints_table(s), _errors_table(s))
    return EXIT_OK


def _worlds(world: str) -> str:
    return "live or fixture" if world == "all" else world


def _headline(s: RunbookStats, when: str) -> str:
    statuses = ", ".join(f"{n} {status}" for status, n in s.statuses.items())
    return (
        f"{s.runbook_id}: {plural(s.runs, 'run')} ({_worlds(s.world)}) since {when}: {statuses}\n"
        "durations in seconds; percentiles by nearest rank\n"
    )


def _runs_table(s: RunbookStats) -> Any:
    table = _table("runs", "finished", "success rate", "p50", "p95", "max")
    d = s.duration
    table.add_row(
        str(s.runs), str(s.finished), _share(s.success_rate), *_seconds(d), _seconds_max(d)
    )
    return table


def _steps_table(s: RunbookStats) -> Any:
    table = _table("step", "ran", "skipped", "p50", "p95", "attempts>1", "failed")
    for st in s.steps:
        table.add_row(
            _text(st.step_id),
            str(st.ran),
            str(st.skipped),
            *_seconds(st.duration),
            _share(st.retried_rate),
            _share(st.failure_rate),
        )
    return table


def _endpoints_table(s: RunbookStats) -> Any:
    table = _table("kind", "endpoint", "count", "p50", "p95", "errors")
    for e in s.endpoints:
        table.add_row(
            e.kind,
            _text(e.target),
            str(e.latency.count),
            *_seconds(e.latency),
            f"{e.errors} ({_share(e.error_rate)})",
        )
    return table if s.endpoints else None


def _errors_table(s: RunbookStats) -> Any:
    table = _table("from (UTC)", "source", "kind", "count")
    hourly = s.bucket_seconds % 86400 != 0
    for e in s.errors:
        start = e.bucket.strftime("%Y-%m-%d %H:%M" if hourly else "%Y-%m-%d")
        table.add_row(start, e.source, _text(e.kind), str(e.count))
    return table if s.errors else None


def _print(out: TextIO, *tables: Any) -> None:
    from rich.console import Console

    console = Console(file=out)
    if not console.is_terminal:  # piped: lines as long as they need
        console = Console(file=out, width=_PIPED_WIDTH)
    titles = ("runs", "steps", "endpoints", "errors over time")
    for title, table in zip(titles, tables, strict=True):
        console.print()
        if table is None:
            console.print(f"{title}: none")
            continue
        table.title = title
        console.print(table)


def _table(*columns: str) -> Any:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, title_justify="left")
    for i, column in enumerate(columns):
        left = column in ("step", "endpoint", "kind", "source", "from (UTC)")
        table.add_column(column, justify="left" if left or i == 0 else "right", overflow="fold")
    return table


def _seconds(d: Spread) -> Sequence[str]:
    return (_number(d.p50), _number(d.p95))


def _seconds_max(d: Spread) -> str:
    return _number(d.max)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _text(value: str) -> str:
    from rich.markup import escape

    return escape(value)  # the users' text (ids, URLs, messages), never markup
