"""Hostile YAML (alias bombs, recursive aliases) is refused at file:line, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from rb.acceptance.pack import PackError, load_pack
from rb.errors import UsageError
from rb.service.inputs import secrets_from

from ..conftest import diagnose, run_rb
from .inputs_project import RUNBOOK, bomb, project

RECURSIVE = "x: &r {self: *r}\n"


def test_a_billion_laughs_runbook_is_an_error_at_its_anchor(tmp_path: Path) -> None:
    assert len(bomb()) < 1024
    path = tmp_path / "bomb.yaml"
    path.write_text(RUNBOOK + bomb())
    done = run_rb("validate", str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"{path}:8:" in done.stdout  # in l0, the list the aliases copy
    assert "error RB002 aliases expand the document past 1,000,000 copied values" in done.stdout


def test_a_recursive_alias_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    path.write_text(RUNBOOK + RECURSIVE)
    done = run_rb("validate", str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"{path}:8:4: error RB002 an alias refers to this node from inside it" in done.stdout


def test_values_nested_too_deep_are_an_error_not_a_crash() -> None:
    text = RUNBOOK + "x: " + "[" * 500 + "]" * 500 + "\n"
    [problem] = diagnose(text)
    assert (problem.line, problem.code) == (8, "RB002")
    assert "nest more than 200 levels" in problem.message


def test_anchors_and_merge_keys_still_load() -> None:
    text = """\
id: merged
name: Merged
version: "1"
steps:
  - &greet
    id: greet
    type: shell
    inputs: &inputs {command: echo, args: ["hello"]}
  - <<: *greet
    id: again
    depends_on: [greet]
    inputs: *inputs
"""
    assert diagnose(text) == []


@pytest.mark.parametrize("payload", [bomb(), RECURSIVE], ids=["bomb", "recursive"])
def test_rb_test_refuses_a_hostile_fixture_with_its_line(tmp_path: Path, payload: str) -> None:
    cwd = project(tmp_path)
    (cwd / "fixtures" / "hello.yaml").write_text("shell: []\n" + payload)
    done = run_rb("test", "hello", "--fixture", "fixtures/hello.yaml", cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert "fixtures/hello.yaml:2:" in done.stderr
    assert "bug in rb" not in done.stderr


@pytest.mark.parametrize("payload", [bomb(), RECURSIVE], ids=["bomb", "recursive"])
def test_a_hostile_acceptance_pack_is_a_pack_error(tmp_path: Path, payload: str) -> None:
    path = tmp_path / "acceptance.yml"
    path.write_text("scenarios: []\n" + payload)
    with pytest.raises(PackError) as caught:
        load_pack(path)
    assert f"{path}:2:" in str(caught.value)


@pytest.mark.parametrize("payload", [bomb(), RECURSIVE], ids=["bomb", "recursive"])
def test_a_hostile_secrets_file_is_a_usage_error(tmp_path: Path, payload: str) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("TOKEN: t\n" + payload)
    with pytest.raises(UsageError, match="is not valid yaml"):
        secrets_from({}, str(path))
