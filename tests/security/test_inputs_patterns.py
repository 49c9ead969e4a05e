"""Parameter `pattern:`s run on RE2: no catastrophic backtracking, bad patterns at file:line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT, diagnose

EVIL = "^(a+)+$"
NEAR_MISS = "a" * 64 + "b"  # Python's re would backtrack through 2**64 ways

RUNBOOK = """\
id: pat
name: Pat
version: "1"
parameters:
  who: {{type: string, pattern: "{pattern}", default: {default}}}
steps:
  - id: greet
    type: shell
    inputs: {{command: echo, args: ["${{params.who}}"]}}
"""


def runbook(pattern: str, default: str = "aaa") -> str:
    return RUNBOOK.format(pattern=pattern, default=default)


def test_rb_run_refuses_a_near_miss_of_a_backtracking_pattern(tmp_path: Path) -> None:
    path = tmp_path / "pat.yaml"
    path.write_text(runbook(EVIL))
    db = f"sqlite:///{tmp_path / 'rb.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "rb", "run", str(path), "--db", db, "--param", f"who={NEAR_MISS}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
        timeout=120,  # a guard against the hang this test is about, not a measurement
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"parameter 'who': '{NEAR_MISS}' does not match '{EVIL}'" in done.stderr


def test_rb_validate_checks_a_default_against_a_backtracking_pattern() -> None:
    [problem] = diagnose(runbook(EVIL, default=NEAR_MISS))
    assert (problem.line, problem.code) == (5, "RB022")
    assert "does not match" in problem.message


def test_an_invalid_pattern_is_an_error_at_its_line() -> None:
    [problem] = diagnose(runbook("(["))
    assert (problem.line, problem.col, problem.code) == (5, 32, "RB022")
    assert problem.message == (
        "parameter 'who': pattern '([' is not a valid regular expression: missing ]: ["
    )


def test_lookaround_is_refused_with_the_reason() -> None:
    [problem] = diagnose(runbook("^(?!root)a"))
    assert "lookaround and backreferences are not supported" in problem.message


def test_a_pattern_inside_items_is_checked_too() -> None:
    tags = '  tags: {type: array, default: [], items: {type: string, pattern: "(["}}\n'
    text = runbook("^a+$").replace("  who:", tags + "  who:")
    [problem] = [p for p in diagnose(text) if p.code == "RB022"]
    assert problem.line == 5
    assert "pattern '(['" in problem.message


def test_a_good_pattern_still_holds() -> None:
    assert diagnose(runbook("^a+$")) == []
    [problem] = diagnose(runbook("^a+$", default="b"))
    assert "'b' does not match '^a+$'" in problem.message
