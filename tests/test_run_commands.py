"""`rb test` and `rb run` as users run them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import run_rb

RUNBOOK = """\
id: hello
name: Hello
version: "1"
parameters:
  who: {type: string, default: world}
  times: {type: integer, default: 1, minimum: 1, maximum: 3}
assumptions:
  - window_open: true
kpis:
  max_duration_seconds: 60
steps:
  - id: greet
    type: shell
    inputs: {command: echo, args: ["hello", "${params.who}"]}
    outputs: {said: "$.stdout"}
  - id: pause
    type: wait
    depends_on: [greet]
    inputs: {seconds: 2}
"""

FIXTURE = """\
facts: {window_open: true}
shell:
  - request: {command: echo, args: [hello, world]}
    response: {stdout: "hello world\\n"}
"""


def rb(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_rb(*args, cwd=cwd, env=env)


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "hello.yaml").write_text(RUNBOOK)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "hello.yaml").write_text(FIXTURE)
    return tmp_path


def test_rb_test_by_id_prints_the_seed_report_and_passes(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    first = rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--update")
    assert first.returncode == 0, first.stdout + first.stderr
    result = rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml")
    assert result.stdout == (
        "✓ Assumption: window_open\n"
        "✓ Step: greet (exit 0, 1 line of output)\n"
        "✓ Step: pause (waited 2s)\n"
        "✓ KPI: max_duration_seconds (2s <= 60s)\n"
        "✓ Outputs match expected/hello.json\n"
        "PASS\n"
    )
    assert result.returncode == 0


def test_rb_test_shows_golden_differences_by_json_path(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--update")
    (cwd / "fixtures" / "hello.yaml").write_text(FIXTURE.replace("hello world", "hello there"))
    result = rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml")
    assert result.returncode == 1
    assert '    $.steps.greet.outputs.said: expected "hello world\\n", got "hello there\\n"' in (
        result.stdout
    )
    assert result.stdout.endswith("FAIL\n")


def test_rb_test_json_report_is_byte_identical_across_runs(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--update")
    a = rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--format", "json")
    b = rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--format", "json")
    assert a.stdout == b.stdout
    report = json.loads(a.stdout)
    assert report["status"] == "success" and report["duration_seconds"] == 2.0


def test_rb_test_writes_junit(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--update")
    rb(cwd, "test", "hello", "--fixture", "fixtures/hello.yaml", "--junit", "out.xml")
    xml = (cwd / "out.xml").read_text()
    assert '<testsuite name="hello" tests="5" failures="0" skipped="0"' in xml
    assert '<testcase classname="hello.step" name="greet"' in xml


def test_unknown_runbook_and_bad_fixture_are_usage_errors(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    missing = rb(cwd, "test", "nope", "--fixture", "fixtures/hello.yaml")
    assert missing.returncode == 2
    assert "no runbook 'nope'" in missing.stderr
    (cwd / "bad.yaml").write_text("http:\n  - request: {urll: x}\n")
    bad = rb(cwd, "test", "hello", "--fixture", "bad.yaml")
    assert bad.returncode == 2
    assert "bad.yaml:2:15: error RB010 unknown key 'urll'" in bad.stderr


def test_rb_run_checks_parameters_before_anything_starts(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    bad = rb(cwd, "run", "hello", "--param", "times=9", "--fact", "window_open=true")
    assert bad.returncode == 2
    assert "parameter 'times'" in bad.stderr and "maximum of 3" in bad.stderr
    typo = rb(cwd, "run", "hello", "--param", "whom=x")
    assert "has no parameter 'whom'; did you mean 'who'?" in typo.stderr


def test_rb_run_runs_live_with_plain_progress_when_not_a_terminal(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    result = rb(
        cwd, "run", "runbooks/hello.yaml", "--param", "who=ops", "--fact", "window_open=true"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      greet (exit 0, 1 line of output)" in result.stdout
    assert "✓ Step: greet" in result.stdout and result.stdout.endswith("SUCCESS\n")


def test_a_command_line_run_records_rb_actor_as_unverified(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    env = {"RB_ACTOR": "dana"}
    result = rb(cwd, "run", "hello", "--fact", "window_open=true", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)["execution_id"]
    shown = rb(cwd, "runs", "show", execution)
    assert "(live, by dana, unverified)" in shown.stdout, shown.stdout


def test_rb_run_masks_secrets_from_the_environment(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    (cwd / "runbooks" / "hello.yaml").write_text(
        RUNBOOK.replace('args: ["hello", "${params.who}"]', 'args: ["${secrets.TOKEN}"]')
    )
    result = rb(
        cwd,
        "run",
        "hello",
        "--fact",
        "window_open=true",
        "--format",
        "json",
        env={"RB_SECRET_TOKEN": "leaky-canary-42"},
    )
    assert result.returncode == 0, result.stderr
    assert "leaky-canary-42" not in result.stdout
    assert json.loads(result.stdout)["steps"][0]["outputs"] == {"said": "***\n"}


def test_unmet_assumption_stops_a_live_run(tmp_path: Path) -> None:
    cwd = _setup(tmp_path)
    result = rb(cwd, "run", "hello")
    assert result.returncode == 1
    assert "✗ Assumption: window_open (fact 'window_open' was not given" in result.stdout
    assert result.stdout.endswith("ABORTED\n")
