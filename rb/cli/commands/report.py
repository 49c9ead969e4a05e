"""`rb report ID -o FILE`, and the `--report FILE` of rb test, replay and acceptance."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rb.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from rb.htmlreport import Divergence


def report(ref: str, output: str, *, db: str | None = None, out: TextIO | None = None) -> int:
    """Write the HTML report of the recorded run `ref` (an id, a prefix or `last`)."""
    write_report(output, [(ref, "", None)], db=db, out=out or sys.stdout)
    return EXIT_OK


def write_report(
    output: str,
    runs: Sequence[tuple[str, str, Sequence[Divergence] | None]],
    *,
    db: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Write one HTML file of `runs`: (execution id or ref, heading, divergences) each.

    Screenshot baselines are read under the current folder, the project's
    root, as `rb test` keeps them. `out` hears where it went (None: silent,
    so a JSON document on stdout stays the only thing there).
    """
    from rb.htmlreport import Section, write
    from rb.store.database import open_store
    from rb.store.queries import load_run

    store = open_store(db)
    sections = [Section(load_run(store, ref), heading, found) for ref, heading, found in runs]
    write(output, sections, base_dir=Path.cwd())
    if out is not None:
        out.write(f"report written to {output}\n")


def require_recorded(report: str | None, record: bool) -> None:
    """`--report` shows the recorded run: with `--no-record` there is none."""
    if report and not record:
        raise UsageError(
            "--report needs the run recorded: leave out --no-record "
            "(the report is made from the recording)"
        )
