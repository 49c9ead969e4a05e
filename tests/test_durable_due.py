"""Deadlines of parked runs (`rb resume --due`, resume_due) and cancelling a
parked run with `on_cancel: rollback` (docs/durability.md, docs/waiting.md).

Real `rb` processes against a real store (SQLite and PostgreSQL). No test
waits on the clock: a deadline is made past by moving the recorded start of
the wait back, or by handing resume_due a `now` far ahead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rb.service.due import resume_due
from rb.service.durable import request_control
from rb.service.runs import recorded
from rb.store.database import Store, open_store

from .conftest import run_rb

RUNBOOK = """\
id: rb-test-due
name: Prepare, approve, act
version: "1.0.0"
owner: platform-team
legal_basis: Test policy 7.1
description: Prepares (undone by a rollback), waits for an approval, then acts.
on_cancel: {on_cancel}
parameters:
  dir:
    type: string
    description: Where the steps leave their marks.
steps:
  - id: prepare
    type: shell
    inputs:
      command: touch
      args: ["${{params.dir}}/prepared"]
    rollback:
      type: shell
      inputs:
        command: sh
        args: ["-c", "echo undone >> ${{params.dir}}/rolled-back"]
  - id: ask
    type: approval
    depends_on: [prepare]
    inputs:
      message: Go on?
      approvers: [alice]
      timeout_seconds: 3600
      on_timeout: {on_timeout}
  - id: act
    type: shell
    depends_on: [ask]
    inputs:
      command: touch
      args: ["${{params.dir}}/acted"]
"""


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def _park(
    tmp_path: Path, store_url: str, *, on_cancel: str = "stop", on_timeout: str = "reject"
) -> str:
    path = tmp_path / "runbook.yaml"
    path.write_text(RUNBOOK.format(on_cancel=on_cancel, on_timeout=on_timeout), encoding="utf-8")
    started = run_rb(
        "run", str(path), "--param", f"dir={tmp_path}", "--db", store_url, cwd=tmp_path
    )
    execution = recorded("last", db=store_url)
    assert execution.status == "waiting", started.stdout + started.stderr
    return execution.id


def _backdate_wait(store: Store, execution_id: str, step_id: str, by: timedelta) -> None:
    """Move the recorded start of a step's wait (and its deadline) back: the deadline is past."""
    from sqlalchemy import select, update

    from rb.store.tables import exchanges, executions

    def parsed(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    with store.begin() as conn:
        for row in conn.execute(
            select(exchanges.c.id, exchanges.c.request, exchanges.c.response).where(
                exchanges.c.execution_id == execution_id, exchanges.c.kind == "observe"
            )
        ):
            if parsed(row.request).get("name") == f"wait.{step_id}.started":
                response = parsed(row.response)
                response["value"] = (datetime.fromisoformat(response["value"]) - by).isoformat()
                conn.execute(
                    update(exchanges).where(exchanges.c.id == row.id).values(response=response)
                )
        waits = parsed(
            conn.execute(
                select(executions.c.waiting_for).where(executions.c.id == execution_id)
            ).scalar_one()
        )
        for wait in waits:
            wait["deadline"] = (datetime.fromisoformat(wait["deadline"]) - by).isoformat()
        conn.execute(
            update(executions).where(executions.c.id == execution_id).values(waiting_for=waits)
        )


def _step(execution: Any, step_id: str) -> Any:
    return next(s for s in execution.steps if s.step_id == step_id)


def test_rb_resume_due_rejects_an_approval_past_its_deadline(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    execution_id = _park(tmp_path, store_url, on_cancel="stop")
    _backdate_wait(store, execution_id, "ask", timedelta(hours=2))
    done = run_rb("resume", "--due", "--db", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert execution_id[:8] in done.stdout
    assert "1 run(s) past their deadline resumed" in done.stdout
    execution = recorded(execution_id, db=store_url)
    assert execution.status == "failure"
    ask = _step(execution, "ask")
    assert ask.status == "failed"
    assert "not approved in time" in (ask.error or "")
    assert not (tmp_path / "acted").exists()
    # Nothing is left to sweep.
    again = run_rb("resume", "--due", "--db", store_url, cwd=tmp_path)
    assert again.returncode == 0 and "0 run(s)" in again.stdout


def test_a_run_whose_deadline_has_not_passed_is_left_alone(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    execution_id = _park(tmp_path, store_url)
    done = run_rb("resume", "--due", "--db", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 run(s)" in done.stdout
    assert recorded(execution_id, db=store_url).status == "waiting"
    assert resume_due(store, now=datetime.now(UTC) + timedelta(minutes=30)) == []
    assert recorded(execution_id, db=store_url).status == "waiting"


def test_resume_due_with_now_ahead_fails_the_step_as_on_timeout_fail_says(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    execution_id = _park(tmp_path, store_url, on_timeout="fail")
    done = resume_due(store, now=datetime.now(UTC) + timedelta(days=2), actor="sweeper")
    assert [(d.execution_id, d.step_ids, d.status) for d in done] == [
        (execution_id, ("ask",), "failure")
    ]
    ask = _step(recorded(execution_id, db=store_url), "ask")
    assert ask.status == "failed"
    assert "no decision in time" in (ask.error or "")


def test_cancelling_a_parked_run_runs_its_rollbacks_once(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    execution_id = _park(tmp_path, store_url, on_cancel="rollback")
    done = run_rb("cancel", execution_id, "--actor", "olivia", "--db", store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "rolled-back").read_text(encoding="utf-8") == "undone\n"
    execution = recorded(execution_id, db=store_url)
    assert execution.status == "cancelled"
    assert execution.run_attempt == 2  # recorded into the same execution, as its next start
    assert _step(execution, "ask").status == "skipped"
    assert not (tmp_path / "acted").exists()
    # Cancelled is final: a second cancel is refused and nothing runs again.
    again = run_rb("cancel", execution_id, "--db", store_url, cwd=tmp_path)
    assert again.returncode == 2
    assert (tmp_path / "rolled-back").read_text(encoding="utf-8") == "undone\n"


def test_cancelling_a_parked_run_without_on_cancel_rollback_runs_nothing(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    execution_id = _park(tmp_path, store_url, on_cancel="stop")
    done = request_control(execution_id, "cancel", actor="olivia", store=store)
    assert done.outcome == "done"
    assert recorded(execution_id, db=store_url).status == "cancelled"
    assert not (tmp_path / "rolled-back").exists()


def test_the_servers_sweep_resumes_a_run_past_its_deadline(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    from rb.server.app import create_app
    from rb.server.config import ServerConfig
    from rb.server.sweep import sweep_once

    execution_id = _park(tmp_path, store_url)
    later = _park(tmp_path, store_url)
    _backdate_wait(store, execution_id, "ask", timedelta(hours=2))
    app = create_app(
        ServerConfig(project=tmp_path, runbooks=tmp_path, db=store_url, sweep_interval=0)
    )
    try:
        assert sweep_once(app.state.rb) == 1
    finally:
        app.state.rb.store.close()
    assert recorded(execution_id, db=store_url).status == "failure"
    assert recorded(later, db=store_url).status == "waiting"


def test_the_api_cancel_of_a_parked_run_runs_its_rollbacks(
    tmp_path: Path, store_url: str, store: Store
) -> None:
    from .rb_server import API_TOKEN, BEARER, config_for, serving

    execution_id = _park(tmp_path, store_url, on_cancel="rollback")
    config = config_for(tmp_path, db=store_url, token=API_TOKEN, sweep_interval=0)
    with serving(config, headers=BEARER) as api:
        answer = api.client.post(f"/api/executions/{execution_id}/cancel")
    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "done"
    assert (tmp_path / "rolled-back").read_text(encoding="utf-8") == "undone\n"
    assert recorded(execution_id, db=store_url).status == "cancelled"
