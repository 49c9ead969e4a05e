"""`rb test RUNBOOK --fixture FILE`: run against a golden fixture, check everything."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from rb.cli.commands.report import require_recorded, write_report
from rb.cli.render import summary_lines
from rb.errors import EXIT_FAILED, EXIT_OK, UsageError
from rb.report import FAIL, compare_golden, dumps, json_report, junit_xml, verdict
from rb.service.request import Recording
from rb.service.runbooks import load_valid_runbook
from rb.service.runner import execute, fixture_request
from rb.world.fixture_format import load_fixture

EXPECTED_DIR = Path("expected")
FIXTURE_DIRS = ("fixtures",)


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
    report: str | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the runbook in the fixture's world; PASS needs success and equal outputs.

    A missing golden file at the default path is written from a successful run
    (verdict NEW), except under CI (env CI set), where it fails: the rule
    screenshot baselines follow. A missing `--expect` file is a usage error.
    """
    out = out or sys.stdout
    require_recorded(report, record)
    runbook = load_valid_runbook(runbook_ref)
    require_fixture(fixture_path)
    if expect and not update and not Path(expect).is_file():
        raise UsageError(
            f"--expect {expect}: no such file; give an existing golden file, or write "
            "this one from the run with --update"
        )
    request = fixture_request(
        runbook,
        load_fixture(fixture_path),
        max_parallel=max_parallel,
        recording=Recording(db=db) if record else None,
        actor=actor,
        update_snapshots=update_snapshots,
    )
    ran = execute(request)
    result = ran.result
    golden_file = Path(expect) if expect else expected_path(Path(fixture_path))
    golden = compare_golden(
        result, golden_file, update=update, write_missing=not os.environ.get("CI")
    )
    said = verdict(result, golden)
    if output_format == "json":
        out.write(dumps(json_report(runbook, result, golden, fixture_path)))
    else:
        for line in summary_lines(result, golden):
            out.write(line + "\n")
        out.write(said + "\n")
    if junit:
        Path(junit).write_text(junit_xml(runbook, result, golden), encoding="utf-8")
    if report and ran.execution_id:
        quiet = output_format == "json"  # the JSON document stays alone on stdout
        write_report(report, [(ran.execution_id, "", None)], db=db, out=None if quiet else out)
    return EXIT_FAILED if said == FAIL else EXIT_OK


def require_fixture(path: str) -> None:
    """A fixture path that does not exist is a usage error naming the likely file."""
    given = Path(path)
    if given.is_file():
        return
    guess = fixture_guess(given)
    hint = f"; did you mean {guess}?" if guess else f" (fixtures live under {FIXTURE_DIRS[0]}/)"
    raise UsageError(f"fixture {path} does not exist{hint}")


def fixture_guess(given: Path) -> str | None:
    """The existing fixture file `given` probably meant: the same name under
    fixtures/, else the closest file name there (extension optional)."""
    import difflib

    candidates = sorted(
        p
        for folder in FIXTURE_DIRS
        if Path(folder).is_dir()
        for p in Path(folder).rglob("*")
        if p.is_file() and p.suffix in (".json", ".yaml", ".yml")
    )
    for same in (
        [p for p in candidates if p.name == given.name],
        [p for p in candidates if p.stem == given.stem],
    ):
        if same:
            return str(same[0])
    names = {p.name: p for p in candidates}
    close = difflib.get_close_matches(given.name, list(names), n=1, cutoff=0.75)
    return str(names[close[0]]) if close else None
