"""`rb acceptance` as a user runs it, on a small project of its own."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from rb.acceptance.comparison import ComparisonError, parse_comparison
from rb.acceptance.pack import Kind, find_pack, load_pack

from .conftest import run_rb

RUNBOOK = """\
id: hello
name: Hello
version: "1"
kpis:
  max_duration_seconds: 60
steps:
  - id: greet
    type: shell
    inputs: {command: echo, args: [hello]}
    outputs: {said: "$.stdout"}
    on_failure: log_and_continue
  - id: pause
    type: wait
    depends_on: [greet]
    inputs: {seconds: 2}
"""

GREETS = """\
shell:
  - request: {command: echo, args: [hello]}
    response: {stdout: "hello\\n"}
"""

ECHO_FAILS = """\
shell:
  - request: {command: echo, args: [hello]}
    response: {exit_code: 1, stderr: "echo: broken pipe\\n"}
"""

PACK = """\
scenarios:
  - name: Greets
    fixture: fixtures/hello.yaml
    expected:
      status: success
      kpis: {duration_seconds: 2, max_duration_seconds: "<= 60"}
      errors: {count: 0}
      outputs: {greet: {said: "hello\\n"}}
      steps: {greet: succeeded, pause: succeeded}
  - name: Echo fails, pause still runs
    fixture: fixtures/failures/echo-fails.yaml
    expected:
      status: success
      errors: {count: 1, type: exit_code}
      steps: {greet: failed, pause: ran}
"""

PASSING_TABLE = """\
RUNBOOK  SCENARIO                      STATUS   CHECKS  RESULT
hello    Greets                        success  7/7     PASS
hello    Echo fails, pause still runs  success  5/5     PASS

2 scenarios in 1 pack: 2 passed, 0 failed
"""

PACK_FILE = "acceptance/hello/acceptance.yml"


def project(tmp_path: Path, pack: str = PACK) -> Path:
    """A project with one runbook, two fixtures and the runbook's pack."""
    for name, text in {
        "runbooks/hello.yaml": RUNBOOK,
        "fixtures/hello.yaml": GREETS,
        "fixtures/failures/echo-fails.yaml": ECHO_FAILS,
        PACK_FILE: pack,
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def rb(cwd: Path, *args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"RB_DATABASE_URL": f"sqlite:///{db}"} if db else None
    return run_rb(*args, cwd=cwd, env=env)


# Passing and failing --------------------------------------------------------------------


def test_a_passing_pack_prints_the_table_and_exits_0(tmp_path: Path) -> None:
    result = rb(project(tmp_path), "acceptance", "--no-record")
    assert result.returncode == 0, result.stderr
    assert result.stdout == PASSING_TABLE


def test_a_wrong_expectation_fails_naming_scenario_key_expected_and_actual(
    tmp_path: Path,
) -> None:
    pack = PACK.replace("duration_seconds: 2,", 'duration_seconds: "< 2",').replace(
        "pause: ran", "pause: skipped"
    )
    result = rb(project(tmp_path, pack), "acceptance", "--no-record")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["hello", "Greets", "success", "6/7", "FAIL"]
    assert "FAIL hello / Greets (fixture fixtures/hello.yaml)" in lines
    assert f"  {PACK_FILE}:6:14: kpis.duration_seconds: expected < 2, got 2" in lines
    assert f"  {PACK_FILE}:15:30: steps.pause: expected skipped, got succeeded" in lines, (
        result.stdout
    )
    # The failed scenario's run is shown, to see why.
    assert "    ✓ Step: pause (waited 2s)" in lines
    assert lines[-1] == "2 scenarios in 1 pack: 0 passed, 2 failed"


def test_a_missing_output_says_why_it_is_missing(tmp_path: Path) -> None:
    pack = PACK.replace("steps: {greet: failed, pause: ran}", "outputs: {greet: {said: x}}")
    result = rb(project(tmp_path, pack), "acceptance", "--no-record")
    assert result.returncode == 1
    assert (
        f"  {PACK_FILE}:15:25: outputs.greet.said: expected x, got no outputs: the step "
        "failed (echo exited with 1: echo: broken pipe)"
    ) in result.stdout.splitlines()


# Reports --------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_scenario_with_the_failed_checks(tmp_path: Path) -> None:
    pack = PACK.replace("type: exit_code", "type: timeout")
    result = rb(project(tmp_path, pack), "acceptance", "--no-record", "--junit", "out.xml")
    assert result.returncode == 1
    root = ET.parse(tmp_path / "out.xml").getroot()
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "1")
    (suite,) = root
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("hello", "Greets"),
        ("hello", "Echo fails, pause still runs"),
    ]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        f"{PACK_FILE}:14:26: errors.type: expected timeout, got exit_code"
    )


def test_json_report_is_byte_identical_and_lists_every_check(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    first = rb(cwd, "acceptance", "--no-record", "--format", "json")
    second = rb(cwd, "acceptance", "--no-record", "--format", "json")
    assert first.returncode == 0 and first.stdout == second.stdout
    report = json.loads(first.stdout)
    assert report["passed"] is True
    assert report["summary"] == {"packs": 1, "scenarios": 2, "failed": 0}
    (pack,) = report["packs"]
    assert (pack["runbook"], pack["path"]) == ("hello", PACK_FILE)
    fails = pack["scenarios"][1]
    assert fails["steps"] == {"greet": "failed", "pause": "succeeded"}
    assert fails["errors"] == [
        {"step": "greet", "type": "exit_code", "message": "echo exited with 1: echo: broken pipe"}
    ]
    assert fails["checks"][1] == {
        "key": "errors.count",
        "expected": "1",
        "actual": "1 (1 exit_code)",
        "ok": True,
        "where": f"{PACK_FILE}:14:16",
    }


# Which packs run ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["hello", "runbooks/hello.yaml", "acceptance", "acceptance/hello", PACK_FILE]
)
def test_a_pack_is_named_by_runbook_id_or_file_or_folder(tmp_path: Path, target: str) -> None:
    result = rb(project(tmp_path), "acceptance", target, "--no-record")
    assert result.returncode == 0, result.stderr
    assert result.stdout == PASSING_TABLE


def test_a_runbook_without_a_pack_is_a_usage_error(tmp_path: Path) -> None:
    result = rb(project(tmp_path), "acceptance", "goodbye")
    assert result.returncode == 2
    assert result.stderr == (
        "rb: error: no acceptance pack for 'goodbye': expected acceptance/goodbye/acceptance.yml\n"
    )
    (tmp_path / PACK_FILE).unlink()
    assert rb(tmp_path, "acceptance").returncode == 2


# Broken packs: exit 2 with file:line:col, nothing runs ----------------------------------


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            PACK.replace(
                "    expected:\n      status: success\n      kpis",
                "    expect:\n      status: success\n      kpis",
                1,
            ),
            [
                f"{PACK_FILE}:2:5: error RB011 scenarios[0] is missing required field 'expected'",
                f"{PACK_FILE}:4:5: error RB010 unknown key 'expect' in scenarios[0]; "
                "did you mean 'expected'?",
            ],
        ),
        (
            PACK.replace("status: success", "status: passed", 1),
            [
                f"{PACK_FILE}:5:15: error RB013 scenarios[0].expected.status must be one of "
                "success, failure, aborted, not text 'passed'",
            ],
        ),
        (
            PACK.replace('"<= 60"', '"<= a minute"'),
            [
                f"{PACK_FILE}:6:57: error RB013 '<= a minute' compares with 'a minute', "
                "which is not a number; <, <=, > and >= need a number",
            ],
        ),
        (
            PACK.replace("type: exit_code", "type: exit_cod"),
            [
                f"{PACK_FILE}:14:32: error RB013 unknown error type 'exit_cod'; "
                "did you mean 'exit_code'?",
            ],
        ),
        (
            PACK.replace("fixtures/hello.yaml", "fixtures/helo.yaml"),
            [f"{PACK_FILE}:3:14: error RB013 fixture fixtures/helo.yaml does not exist"],
        ),
        (
            PACK.replace("{greet: failed, pause: ran}", "{greet: failed, paus: ran}"),
            [f"{PACK_FILE}:15:30: error RB013 hello has no step 'paus'; did you mean 'pause'?"],
        ),
        (
            PACK.replace("{said:", "{sayd:"),
            [
                f"{PACK_FILE}:8:25: error RB013 step 'greet' has no output 'sayd'; "
                "did you mean 'said'?"
            ],
        ),
        (
            PACK.replace("name: Echo fails, pause still runs", "name: Greets"),
            [
                f"{PACK_FILE}:10:11: error RB013 scenario name 'Greets' is already used on "
                "line 2; names must be unique (they name the test cases in reports)"
            ],
        ),
        (
            PACK.replace("status: success", "status: success: yes", 1),
            [
                f"{PACK_FILE}:5:22: error RB002 YAML syntax error: mapping values are not "
                "allowed in this context; check indentation and quoting here"
            ],
        ),
    ],
    ids=[
        "misspelt-key",
        "bad-status",
        "bad-comparison",
        "unknown-error-type",
        "missing-fixture",
        "unknown-step",
        "unknown-output",
        "duplicate-name",
        "yaml-syntax",
    ],
)
def test_a_broken_pack_is_reported_at_file_line_col_with_exit_2(
    tmp_path: Path, broken: str, message: list[str]
) -> None:
    db = tmp_path / "rb.db"
    result = rb(project(tmp_path, broken), "acceptance", db=db)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""  # nothing ran
    assert result.stderr.splitlines() == [
        f"rb: error: acceptance pack {PACK_FILE} is not valid:",
        *message,
    ]


def test_a_pack_folder_must_be_named_after_a_runbook(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    (cwd / "acceptance/hello").rename(cwd / "acceptance/helo")
    result = rb(cwd, "acceptance", "--no-record")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(
        "rb: error: acceptance/helo/acceptance.yml: the pack's folder names runbook 'helo': "
        "no runbook 'helo'"
    )


def test_a_fixture_of_another_runbook_is_reported_at_the_scenario(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    (cwd / "fixtures/hello.yaml").write_text("runbook: goodbye\n" + GREETS)
    result = rb(cwd, "acceptance", "--no-record")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[1] == (
        f"{PACK_FILE}:3:14: error RB013 fixture fixtures/hello.yaml is for runbook "
        "'goodbye', not 'hello'"
    )


def test_a_fixture_with_bad_params_stops_before_any_scenario_runs(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    (cwd / "fixtures/failures/echo-fails.yaml").write_text("params: {who: x}\n" + ECHO_FAILS)
    result = rb(cwd, "acceptance", "--no-record")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "rb: error: fixture fixtures/failures/echo-fails.yaml (scenario 'Echo fails, pause "
        "still runs'): runbook 'hello' has no parameter 'who'\n"
    )


# Recording ------------------------------------------------------------------------------


def test_each_scenario_is_recorded_like_rb_test_unless_told_not_to(tmp_path: Path) -> None:
    cwd, db = project(tmp_path), tmp_path / "rb.db"
    assert rb(cwd, "acceptance", "--actor", "ci-bot", db=db).returncode == 0
    runs = json.loads(rb(cwd, "runs", "list", "--format", "json", db=db).stdout)
    assert [(r["runbook_id"], r["actor"], r["world"]) for r in runs] == [
        ("hello", "ci-bot", "fixture")
    ] * 2
    assert rb(cwd, "acceptance", "--no-record", db=db).returncode == 0
    assert len(json.loads(rb(cwd, "runs", "list", "--format", "json", db=db).stdout)) == 2


# The Python API other tools use -----------------------------------------------------------


def test_find_pack_and_load_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path))
    assert find_pack("goodbye") is None
    path = find_pack("hello")
    assert path == Path(PACK_FILE)
    pack = load_pack(path)
    assert (pack.runbook_id, pack.path) == ("hello", path)
    greets, fails = pack.scenarios
    assert (greets.name, greets.fixture, greets.expected.status) == (
        "Greets",
        Path("fixtures/hello.yaml"),
        "success",
    )
    assert [c.key for c in greets.expected.checks] == [
        "status",
        "kpis.duration_seconds",
        "kpis.max_duration_seconds",
        "errors.count",
        "outputs.greet.said",
        "steps.greet",
        "steps.pause",
    ]
    assert [c.kind for c in fails.expected.checks] == [
        Kind.STATUS,
        Kind.ERROR_COUNT,
        Kind.ERROR_TYPES,
        Kind.STEP,
        Kind.STEP,
    ]


# Comparisons ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "actual", "holds"),
    [
        ("<= 300", 300, True),
        ("<= 300", 300.5, False),
        ("> 0", 1, True),
        ("> 0", None, False),  # not measured never satisfies an ordering
        ("> 0", True, False),  # true is not a number here
        (">= 0.95", 0.975, True),
        ("!= failure", "success", True),
        ("== > not an operator", "> not an operator", True),
        (195, 195.0, True),
        (0.3, 0.1 + 0.2, True),
        (True, 1, False),
        ("promoting", "promoting", True),
        ([200, 200], [200, 200.0], True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
    ],
)
def test_comparisons(written: object, actual: object, holds: bool) -> None:
    assert parse_comparison(written).holds(actual) is holds


@pytest.mark.parametrize("written", ["<= soon", "<=", "> [1, 2]"])
def test_an_ordering_needs_a_number(written: str) -> None:
    with pytest.raises(ComparisonError):
        parse_comparison(written)


# Screenshots ----------------------------------------------------------------------------


def test_a_screenshot_is_compared_with_the_named_baseline(tmp_path: Path) -> None:
    from PIL import Image

    from rb.acceptance.screenshots import compare_with_baseline
    from rb.engine.outcome import StepOutcome

    def png(name: str, color: tuple[int, int, int], size: tuple[int, int] = (20, 10)) -> Path:
        Image.new("RGB", size, color).save(tmp_path / name)
        return tmp_path / name

    white, red = (255, 255, 255), (255, 0, 0)
    shot = StepOutcome(
        "ui", "succeeded", result={"screenshot": str(png("shot.png", white))}, inputs={}
    )
    assert compare_with_baseline(shot, png("same.png", white)) == (
        True,
        "0.00% of pixels differ (identical)",
    )
    assert compare_with_baseline(shot, png("red.png", red)) == (
        False,
        "100.00% of pixels differ (200 pixels, over the tolerance 0)",
    )
    lax = StepOutcome("ui", "succeeded", result=shot.result, inputs={"max_diff_pixels": 200})
    assert compare_with_baseline(lax, png("red.png", red)) == (
        True,
        "100.00% of pixels differ (200 pixels, within the tolerance 200 pixels)",
    )
    ok, seen = compare_with_baseline(shot, png("wide.png", white, (30, 10)))
    assert not ok and "20x10" in seen and "30x10" in seen
    skipped = StepOutcome("ui", "skipped", reason="condition is false: ${false}")
    assert compare_with_baseline(skipped, tmp_path / "same.png") == (
        False,
        "no screenshot: the step skipped (condition is false: ${false})",
    )
