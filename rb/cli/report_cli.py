"""`rb report ID -o FILE`: a recorded run as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rb.cli.options import DbOption, ExecutionIdArgument, guard


@guard
def report(
    execution: ExecutionIdArgument,
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", metavar="FILE", dir_okay=False, help="write the HTML report here"
        ),
    ],
    db: DbOption = None,
) -> int:
    """Write a recorded run as one self-contained HTML file: header, the DAG with each step's
    state, a timeline, KPIs against their limits, outputs, exchanges (masked as recorded),
    screenshots beside their baselines and diffs, and a replay's divergences. The page
    fetches nothing; attach it to a CI job or a ticket (docs/reports.md)."""
    from rb.cli.commands.report import report as write

    return write(execution, str(output), db=db)


def register(app: typer.Typer) -> None:
    """Add `rb report` to the `rb` app."""
    app.command("report", short_help="a recorded run as one self-contained HTML file")(report)
