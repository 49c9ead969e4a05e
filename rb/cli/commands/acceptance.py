"""`rb acceptance [RUNBOOK|DIR...]`: run acceptance packs and report every scenario."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rb.acceptance.pack import Pack, PackError, load_pack, pack_paths
from rb.acceptance.runner import RunOptions, prepare, run_pack
from rb.cli.acceptance_report import counts, json_report, junit_report, text_report
from rb.cli.commands.report import require_recorded, write_report
from rb.diagnostics import Diagnostic
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import dumps


def acceptance(
    targets: Sequence[str],
    *,
    output_format: str = "text",
    junit: str | None = None,
    report: str | None = None,
    options: RunOptions | None = None,
    out: TextIO | None = None,
) -> int:
    """Check every pack first (exit 2 on a broken one), then run all scenarios.

    Exit 0 when every scenario passed, 1 when any failed.
    """
    out = out or sys.stdout
    options = options or RunOptions()
    require_recorded(report, options.record)
    packs: list[Pack] = []
    problems: list[Diagnostic] = []
    for path in pack_paths(targets):
        try:
            packs.append(load_pack(path))
        except PackError as exc:  # report every broken pack at once, not the first
            problems.extend(exc.diagnostics)
    if problems:
        raise PackError(problems)
    prepared = [prepare(pack) for pack in packs]
    results = [run_pack(p, options) for p in prepared]
    if output_format == "json":
        out.write(dumps(json_report(results)))
    else:
        out.write("".join(line + "\n" for line in text_report(results)))
    if junit:
        Path(junit).write_text(junit_report(results), encoding="utf-8")
    if report:
        runs = [
            (s.execution_id, f"{r.pack.runbook_id}: {s.name}", None)
            for r in results
            for s in r.scenarios
            if s.execution_id
        ]
        quiet = output_format == "json"
        write_report(report, runs, db=options.db, out=None if quiet else out)
    return EXIT_OK if counts(results)[1] == 0 else EXIT_FAILED
