"""The rb command as a user runs it: real processes, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import DATA, run_rb

SEED = DATA / "seed_example.yaml"
INVALID = DATA / "invalid"


def rb(*args: str) -> subprocess.CompletedProcess[str]:
    return run_rb(*args)


def test_help_lists_the_commands() -> None:
    result = rb("--help")
    assert result.returncode == 0
    for command in ("validate", "schema", "types"):
        assert command in result.stdout


def test_no_command_is_bad_usage() -> None:
    assert rb().returncode == 2


def test_validate_clean_file_exits_0_with_a_summary() -> None:
    result = rb("validate", str(SEED))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "1 runbook checked: no problems"
    # The seed's HTTP outputs read the response body, as it means them.
    assert "RB064" not in result.stdout


def test_strict_turns_warnings_into_failure() -> None:
    # The seed's example, a first runbook, has no warnings; a surely unused output does.
    assert rb("validate", "--strict", str(SEED)).returncode == 0
    assert rb("validate", "--strict", str(INVALID / "rb060_unused_output.yaml")).returncode == 1


def test_validate_errors_exit_1_with_file_line_col() -> None:
    path = INVALID / "rb031_missing_dependency.yaml"
    result = rb("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"{path}:9:18: error RB031 step 'b' depends on 'fetc', which does not exist; "
        "did you mean 'fetch'?"
    )


def test_folders_and_globs_expand_to_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.yaml", "sub/b.yml"):
        (tmp_path / name).write_text(SEED.read_text())
    (tmp_path / "notes.txt").write_text("not a runbook")
    result = rb("validate", "--format", "json", str(tmp_path))
    files = [f["path"] for f in json.loads(result.stdout)["files"]]
    assert files == [str(tmp_path / "a.yaml"), str(tmp_path / "sub" / "b.yml")]
    result = rb("validate", "--format", "json", str(tmp_path / "**" / "*.yml"))
    assert [f["path"] for f in json.loads(result.stdout)["files"]] == [
        str(tmp_path / "sub" / "b.yml")
    ]


def test_missing_path_is_bad_usage() -> None:
    result = rb("validate", "no/such/runbook.yaml")
    assert result.returncode == 2
    assert "no such file, folder or match: no/such/runbook.yaml" in result.stderr


def test_json_format() -> None:
    result = rb("validate", "--format", "json", str(INVALID / "rb033_cycle.yaml"))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["summary"] == {"files": 1, "errors": 1, "warnings": 0}
    (d,) = report["diagnostics"]
    assert (d["code"], d["name"], d["line"], d["col"], d["severity"]) == (
        "RB033",
        "cycle",
        16,
        18,
        "error",
    )
    assert report["files"][0]["valid"] is False


def test_github_format_writes_annotations() -> None:
    result = rb("validate", "--format", "github", str(INVALID / "rb060_unused_output.yaml"))
    line = result.stdout.splitlines()[0]
    assert line.startswith("::warning file=")
    assert ",line=9,col=15,title=RB060 unused-output::step 'a' declares outputs" in line


def test_python_dash_m_and_console_script_agree() -> None:
    script = Path(sys.executable).parent / "rb"
    a = subprocess.run([str(script), "validate", str(SEED)], capture_output=True, text=True)
    b = rb("validate", str(SEED))
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout)


def test_schema_is_a_valid_json_schema_that_accepts_the_seed() -> None:
    result = rb("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    seed = yaml.safe_load(SEED.read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(seed)) == []
    # The editor schema knows each type's inputs: a typo is flagged in the editor too.
    seed["steps"][0]["inputs"]["sourceurl"] = seed["steps"][0]["inputs"].pop("source_url")
    assert list(jsonschema.Draft7Validator(schema).iter_errors(seed))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_types_lists_every_builtin(fmt: str) -> None:
    result = rb("types", "--format", fmt)
    assert result.returncode == 0
    for name in (
        "data_fetch",
        "api_call",
        "schema_check",
        "sql_query",
        "metrics_publish",
        "ui_screenshot",
        "wait",
        "shell",
    ):
        assert name in result.stdout


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("${steps.__class__}", "keys starting with '_' cannot be read with '.'"),
        ("${__import__('os')}", "names starting with '_' are not allowed"),
        ("${'{0.__globals__}'.format(env)}", "only rb's functions can be called"),
        ("${params.mro()}", "only rb's functions can be called"),
    ],
)
def test_validate_reports_sandbox_escapes_with_their_position(
    tmp_path: Path, expression: str, message: str
) -> None:
    path = tmp_path / "escape.yaml"
    path.write_text(
        'id: escape\nname: Escape\nversion: "1"\nsteps:\n'
        f"  - id: a\n    type: shell\n    inputs:\n      command: >-\n        {expression}\n"
    )
    result = rb("validate", str(path))
    assert result.returncode == 1
    assert f"{path}:9:" in result.stdout and "error RB040" in result.stdout
    assert message in result.stdout
