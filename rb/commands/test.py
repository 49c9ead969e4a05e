"""`rb test RUNBOOK --fixture FILE`: run against a golden fixture, check everything."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from rb.cli.render import summary_lines
from rb.commands.common import load_valid_runbook
from rb.commands.execution import run_in_fixture
from rb.errors import EXIT_FAILED, EXIT_OK
from rb.report import compare_golden, dumps, json_report, junit_xml, passed
from rb.world.fixture_format import load_fixture

EXPECTED_DIR = Path("expected")


def expected_path(fixture: Path) -> Path:
    """By convention, expected/<fixture file name without extension>.json."""
    return EXPECTED_DIR / f"{fixture.stem}.json"


def test(
    runbook_ref: str,
    fixture_path: str,
    *,
    expect: str | None = None,
    update: bool = False,
    output_format: str = "text",
    junit: str | None = None,
    max_parallel: int | None = None,
    record: bool = True,
    db: str | None = None,
    actor: str | None = None,
    update_snapshots: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run the runbook in the fixture's world; PASS needs success and equal outputs."""
    out = out or sys.stdout
    runbook = load_valid_runbook(runbook_ref)
    result = run_in_fixture(
        runbook,
        load_fixture(fixture_path),
        max_parallel=max_parallel,
        record=record,
        db=db,
        actor=actor,
        update_snapshots=update_snapshots,
    )
    golden_file = Path(expect) if expect else expected_path(Path(fixture_path))
    golden = compare_golden(result, golden_file, update=update)
    ok = passed(result, golden)
    if output_format == "json":
        out.write(dumps(json_report(runbook, result, golden, fixture_path)))
    else:
        for line in summary_lines(result, golden):
            out.write(line + "\n")
        if result.error and not ok:
            out.write(f"{result.error}\n")
        out.write("PASS\n" if ok else "FAIL\n")
    if junit:
        Path(junit).write_text(junit_xml(runbook, result, golden), encoding="utf-8")
    return EXIT_OK if ok else EXIT_FAILED
