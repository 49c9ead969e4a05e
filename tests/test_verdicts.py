"""`rb test`'s verdicts and lines: what a user reads, exactly once and right."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rb.steps.wait import WAIT
from rb.world.fixture_format import from_data

from .conftest import run_rb

RUNBOOK = """\
id: tally
name: Tally
version: "1"
kpis:
  share_valid:
    measure: "${len(steps.split.outputs.valid) / max(len(steps.fetch.outputs.rows), 1)}"
    min: 0.5
    max: 1
steps:
  - id: fetch
    type: data_fetch
    inputs: {source_url: "http://api.test/rows"}
    outputs: {rows: "$.rows"}
  - id: split
    type: schema_check
    depends_on: [fetch]
    inputs:
      entities: "${steps.fetch.outputs.rows}"
      schema: {required: [id]}
    outputs: {valid: "$.valid", errors: "$.errors", error_count: "$.error_count"}
    summary: "${len(outputs.valid)} kept, ${outputs.error_count} set aside"
"""

FIXTURE = """\
http:
  - request: {url: "http://api.test/rows"}
    response: {json: {rows: [{id: 1}, {id: 2}, {name: x}]}}
"""


def project(tmp_path: Path, fixture: str = FIXTURE) -> Path:
    (tmp_path / "runbooks").mkdir(exist_ok=True)
    (tmp_path / "runbooks" / "tally.yaml").write_text(RUNBOOK)
    (tmp_path / "fixtures").mkdir(exist_ok=True)
    (tmp_path / "fixtures" / "tally.yaml").write_text(fixture)
    return tmp_path


def rb_test(cwd: Path, *args: str, ci: bool = False) -> subprocess.CompletedProcess[str]:
    env = {"CI": "true" if ci else ""}
    return run_rb("test", "tally", "--no-record", *args, cwd=cwd, env=env)


# A missing golden file -------------------------------------------------------
def test_a_missing_golden_file_is_written_and_the_verdict_says_new(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    first = rb_test(cwd, "--fixture", "fixtures/tally.yaml")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "✓ Outputs: new golden file expected/tally.json (review and commit it)\n" in first.stdout
    assert first.stdout.endswith("\nNEW\n")
    assert (cwd / "expected" / "tally.json").is_file()
    again = rb_test(cwd, "--fixture", "fixtures/tally.yaml")
    assert again.stdout.endswith("✓ Outputs match expected/tally.json\nPASS\n")


def test_under_ci_a_missing_golden_file_fails_and_is_not_written(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    done = rb_test(cwd, "--fixture", "fixtures/tally.yaml", "--format", "json", ci=True)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["verdict"], report["passed"]) == ("FAIL", False)
    assert not (cwd / "expected" / "tally.json").exists()
    text = rb_test(cwd, "--fixture", "fixtures/tally.yaml", ci=True).stdout
    assert "✗ Outputs: no golden file expected/tally.json: write it with --update" in text
    assert text.endswith("\nFAIL\n")


def test_a_failed_run_writes_no_golden_file(tmp_path: Path) -> None:
    cwd = project(tmp_path, FIXTURE.replace("api.test/rows", "api.test/other"))
    done = rb_test(cwd, "--fixture", "fixtures/tally.yaml")
    assert done.returncode == 1 and done.stdout.endswith("\nFAIL\n")
    assert "no golden file expected/tally.json: not written, as the run did not succeed" in (
        done.stdout
    )
    assert not (cwd / "expected").exists()


def test_an_explicit_expect_file_that_does_not_exist_is_bad_usage(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    done = rb_test(cwd, "--fixture", "fixtures/tally.yaml", "--expect", "/nonexistent.json")
    assert done.returncode == 2
    assert "--expect /nonexistent.json: no such file" in done.stderr and done.stdout == ""
    update = rb_test(cwd, "--fixture", "fixtures/tally.yaml", "--expect", "mine.json", "--update")
    assert update.returncode == 0 and update.stdout.endswith("\nUPDATED\n")
    assert (cwd / "mine.json").is_file()


# A fixture path that does not exist -------------------------------------------
def test_a_missing_fixture_suggests_the_file_it_probably_meant(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    for given in ("tally.yaml", "fixtures/tally.json", "fixtures/taly.yaml"):
        done = rb_test(cwd, "--fixture", given)
        assert done.returncode == 2, given
        assert done.stderr == (
            f"rb: error: fixture {given} does not exist; did you mean fixtures/tally.yaml?\n"
        )
    none = rb_test(cwd, "--fixture", "nothing-like-it.json")
    assert none.returncode == 2 and "(fixtures live under fixtures/)" in none.stderr


# Step summaries and KPI lines ----------------------------------------------------
def test_steps_say_what_they_produced_and_kpis_read_plainly(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    done = rb_test(cwd, "--fixture", "fixtures/tally.yaml")
    assert done.stdout.splitlines()[:3] == [
        "✓ Step: fetch (3 rows)",
        "✓ Step: split (2 kept, 1 set aside)",
        "✓ KPI: share_valid (0.5 <= 0.6667 <= 1)",
    ]


def test_a_summary_template_is_validated_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "tally.yaml"
    path.write_text(RUNBOOK.replace("outputs.error_count} set", "outputs.eror_count} set"))
    done = run_rb("validate", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"{path}:21:45: error RB044 step 'split' summary: step 'split' has no output "
        "'eror_count'; did you mean 'error_count'?"
    )


def test_an_unmatched_request_is_reported_once_and_fails(tmp_path: Path) -> None:
    cwd = project(tmp_path, FIXTURE.replace("api.test/rows", "api.test/other"))
    done = rb_test(cwd, "--fixture", "fixtures/tally.yaml")
    assert done.returncode == 1
    assert done.stdout.count("no fixture exchange matches") == 1
    assert done.stdout.startswith("✗ Step: fetch (failed: no fixture exchange matches GET ")
    assert "✗ KPI: share_valid (not measured: step 'split' did not run)\n" in done.stdout
    assert done.stdout.endswith("\nFAIL\n")


# Wording -----------------------------------------------------------------------
def test_times_are_rounded_for_people() -> None:
    assert WAIT.summarize is not None
    assert WAIT.summarize({"waited_seconds": 5.10006, "polls": 0}) == "waited 5.1s"
    assert WAIT.summarize({"waited_seconds": 5.0034, "polls": 3}) == (
        "condition true after 5s, 3 polls"
    )


def test_a_fixture_mismatch_names_plural_fields_in_plural() -> None:
    fixture = from_data({"shell": [{"request": {"command": "echo", "args": ["a"]}}]})
    (exchange,) = fixture.exchanges
    assert exchange.differences({"command": "echo", "args": ["b"]}).startswith("args differ (")


# RB060 -------------------------------------------------------------------------
def test_a_first_runbook_passes_strict_and_an_unread_step_is_warned(tmp_path: Path) -> None:
    path = tmp_path / "tally.yaml"
    path.write_text(RUNBOOK)  # split's errors are read by nothing: a result
    assert run_rb("validate", "--strict", str(path)).returncode == 0
    unread = RUNBOOK.replace("${steps.fetch.outputs.rows}", "[]")
    path.write_text(unread.replace("max(len(steps.fetch.outputs.rows), 1)", "3"))
    done = run_rb("validate", "--strict", str(path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"{path}:13:15: warning RB060 step 'fetch' declares outputs ('rows') but nothing reads "
        "any of them, though 'split' depends on it; read them there "
        "(${steps.fetch.outputs.rows}) or remove them"
    )
