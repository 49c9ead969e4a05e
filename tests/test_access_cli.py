"""A runbook's `access:` lists on the command line: by the claimed name (RB_ACTOR, --actor)."""

from __future__ import annotations

from pathlib import Path

from .conftest import run_rb

GUARDED = """\
id: cli-guarded
name: Guarded on the command line
version: "1"
access:
  run: [olivia]
  approve: [alice]
environments:
  prod:
    access: {run: [olivia], approve: [pat]}
steps:
  - id: ask
    type: approval
    inputs: {message: "go?"}
"""


def test_rb_run_and_rb_approve_keep_to_the_access_lists(tmp_path: Path) -> None:
    path = tmp_path / "guarded.yaml"
    path.write_text(GUARDED, encoding="utf-8")
    db = f"sqlite:///{tmp_path}/rb.db"
    refused = run_rb("run", str(path), "--db", db, env={"RB_ACTOR": "mallory"}, cwd=tmp_path)
    assert refused.returncode == 2
    assert "runbook cli-guarded lets only olivia run; mallory is not one of them" in refused.stderr
    runs = []
    for environment in ((), ("--env", "prod")):
        started = run_rb(
            "run", str(path), "--db", db, "--format", "json", *environment,
            env={"RB_ACTOR": "olivia"}, cwd=tmp_path,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        runs.append(started.stdout.split('"execution_id": "')[1].split('"')[0])
    plain, prod = runs
    wrong = run_rb("approve", prod, "--as", "alice", "--db", db, cwd=tmp_path)
    assert wrong.returncode == 2
    assert "lets only pat approve in environment prod; alice is not one of them" in wrong.stderr
    assert run_rb("approve", prod, "--as", "pat", "--db", db, cwd=tmp_path).returncode == 0
    assert run_rb("approve", plain, "--as", "alice", "--db", db, cwd=tmp_path).returncode == 0
