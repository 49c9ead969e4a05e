"""A parked run goes on when its answer arrives: needs the durable run service.

These tests drive real `rb run` processes against a real store (SQLite and
PostgreSQL): the run parks at an approval or wait_event step and its process
exits; `rb approve` / `rb reject` / `rb event send` or the API answer, and
the run resumes from its recording (rb.service.durable.resume, built by the
durable-executions work). Until that module exists they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rb.service.runs import recorded
from rb.store.database import Store, open_store

from .conftest import run_rb

APPROVAL_RUNBOOK = """\
id: rb-test-approve
name: Approve then act
version: "1.0.0"
owner: platform-team
legal_basis: Test policy 7.1
description: Waits for two approvals, then writes a file.
parameters:
  marker:
    type: string
    description: The file the last step writes.
steps:
  - id: ask
    type: approval
    inputs:
      message: "Touch ${params.marker}?"
      approvers: [alice, bob, carol]
      required: 2
    outputs:
      approvers: "$.approvers"
  - id: act
    type: shell
    depends_on: [ask]
    inputs:
      command: touch
      args: ["${params.marker}"]
"""

EVENT_RUNBOOK = """\
id: rb-test-event
name: Wait for promotion
version: "1.0.0"
owner: platform-team
legal_basis: Test policy 7.1
description: Waits for an event keyed by the cluster.
parameters:
  cluster:
    type: string
    description: Correlation key.
steps:
  - id: promoted
    type: wait_event
    inputs:
      event: replica-promoted
      key: "${params.cluster}"
    outputs:
      host: "$.host"
"""


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def _start(tmp_path: Path, text: str, store_url: str, *params: str) -> str:
    path = tmp_path / "runbook.yaml"
    path.write_text(text, encoding="utf-8")
    args = [a for p in params for a in ("--param", p)]
    started = run_rb(
        "run",
        str(path),
        *args,
        "--actor",
        "olivia",
        "--db",
        store_url,
        "--format",
        "json",
        cwd=tmp_path,
    )
    execution = recorded("last", db=store_url)
    assert execution.status == "waiting", started.stdout + started.stderr
    assert started.returncode == 0, started.stderr  # parked is not failed
    return execution.id


def _step(execution: Any, step_id: str) -> Any:
    return next(s for s in execution.steps if s.step_id == step_id)


def test_two_approvals_resume_the_run_and_the_next_step_runs_once(
    tmp_path: Path, store_url: str
) -> None:
    marker = tmp_path / "acted"
    execution_id = _start(tmp_path, APPROVAL_RUNBOOK, store_url, f"marker={marker}")
    assert not marker.exists()
    first = run_rb("approve", execution_id, "--as", "alice", "--db", store_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert recorded(execution_id, db=store_url).status == "waiting"
    second = run_rb(
        "approve", execution_id, "--as", "bob", "--comment", "go", "--db", store_url, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    execution = recorded(execution_id, db=store_url)
    assert execution.status == "success"
    assert _step(execution, "ask").outputs == {"approvers": ["alice", "bob"]}
    assert marker.exists()


def test_a_rejection_fails_the_run_and_the_next_step_never_runs(
    tmp_path: Path, store_url: str
) -> None:
    marker = tmp_path / "acted"
    execution_id = _start(tmp_path, APPROVAL_RUNBOOK, store_url, f"marker={marker}")
    done = run_rb(
        "reject", execution_id, "--as", "carol", "--comment", "no", "--db", store_url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    execution = recorded(execution_id, db=store_url)
    assert execution.status == "failure"
    assert _step(execution, "ask").status == "failed"
    assert not marker.exists()


def test_the_trigger_cannot_approve_their_own_run(tmp_path: Path, store_url: str) -> None:
    marker = tmp_path / "acted"
    text = APPROVAL_RUNBOOK.replace("[alice, bob, carol]", "[alice, olivia]")
    execution_id = _start(tmp_path, text, store_url, f"marker={marker}")
    done = run_rb("approve", execution_id, "--as", "olivia", "--db", store_url, cwd=tmp_path)
    assert done.returncode == 2
    assert "olivia started this run" in done.stderr
    assert recorded(execution_id, db=store_url).status == "waiting"


def test_an_event_with_the_right_key_resumes_the_run_and_a_wrong_key_does_not(
    tmp_path: Path, store_url: str
) -> None:
    execution_id = _start(tmp_path, EVENT_RUNBOOK, store_url, "cluster=orders-pg")
    wrong = run_rb(
        "event",
        "send",
        "replica-promoted",
        "--key",
        "billing-pg",
        "--data",
        '{"host": "b2"}',
        "--db",
        store_url,
        cwd=tmp_path,
    )
    assert wrong.returncode == 0, wrong.stderr
    assert recorded(execution_id, db=store_url).status == "waiting"
    right = run_rb(
        "event",
        "send",
        "replica-promoted",
        "--key",
        "orders-pg",
        "--data",
        '{"host": "o2"}',
        "--db",
        store_url,
        cwd=tmp_path,
    )
    assert right.returncode == 0, right.stderr
    execution = recorded(execution_id, db=store_url)
    assert execution.status == "success"
    assert _step(execution, "promoted").outputs == {"host": "o2"}


def test_an_early_event_lets_the_run_through_without_parking(
    tmp_path: Path, store_url: str
) -> None:
    sent = run_rb(
        "event",
        "send",
        "replica-promoted",
        "--key",
        "orders-pg",
        "--data",
        '{"host": "o2"}',
        "--db",
        store_url,
        cwd=tmp_path,
    )
    assert sent.returncode == 0, sent.stderr
    path = tmp_path / "runbook.yaml"
    path.write_text(EVENT_RUNBOOK, encoding="utf-8")
    done = run_rb("run", str(path), "--param", "cluster=orders-pg", "--db", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recorded("last", db=store_url).status == "success"


def test_a_resumed_approval_run_replays_verified(tmp_path: Path, store_url: str) -> None:
    marker = tmp_path / "acted"
    execution_id = _start(tmp_path, APPROVAL_RUNBOOK, store_url, f"marker={marker}")
    for who in ("alice", "bob"):
        run_rb("approve", execution_id, "--as", who, "--db", store_url, cwd=tmp_path)
    replayed = run_rb("replay", execution_id, "--db", store_url, cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "REPLAY VERIFIED" in replayed.stdout
