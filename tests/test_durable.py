"""Durable executions: resume after kill -9, retry, cancel, pause, the run's timeout.

Real parts throughout: `rb run` in a child process against a real HTTP server
that counts requests, real shell process groups, a real store (SQLite, and
PostgreSQL where the store's behaviour is the point). Nothing sleeps to wait:
the server says when a request arrived, a FIFO gives a process id, and the
waits have bounds only so a broken rb cannot hang the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rb.errors import UsageError
from rb.loader import load_text
from rb.service.durable import request_control, resume, retry
from rb.service.request import Recording
from rb.service.runbooks import require_valid
from rb.service.runner import execute, fixture_request
from rb.store.database import open_store
from rb.store.queries import get_run, load_run
from rb.world.fixture_format import from_data

from .conftest import run_rb
from .test_shell_processes import BOUND_SECONDS, ended, grandchild_fifo, read_pid, watched

CHAIN = """\
id: chain
name: Chain
version: "1"
steps:
  - id: first
    type: api_call
    inputs: {url: "URL/echo/first", method: POST, json: {n: 1}}
    outputs: {n: "${result.body.json.n}"}
  - id: second
    type: api_call
    depends_on: [first]
    inputs: {url: "URL/echo/second", method: POST, json: {n: "${steps.first.outputs.n}"}}
  - id: blocked
    type: api_call
    depends_on: [second]
    inputs: {url: "URL/slow"}
    timeout_seconds: 120
  - id: last
    type: api_call
    depends_on: [blocked]
    inputs: {url: "URL/echo/last", method: POST, json: {done: true}}
"""


def _write(tmp_path: Path, text: str, name: str = "rb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _count(server: Any, path: str) -> int:
    return sum(1 for r in server.state.requests if r.path == path)


def _rb_run(tmp_path: Path, db: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rb", "run", "rb.yaml", "--db", db],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _stopped(rb: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return rb.communicate(timeout=BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        rb.kill()
        rb.communicate()
        pytest.fail("rb did not stop")


def test_kill_9_then_resume_sends_each_finished_steps_request_once(
    tmp_path: Path, http_server: Any, store_url: str
) -> None:
    _write(tmp_path, CHAIN.replace("URL", http_server.url("")))
    rb = _rb_run(tmp_path, store_url)
    try:
        # The third step waits on the server: a deterministic point to kill rb at.
        assert http_server.state.slow_started.wait(BOUND_SECONDS), "rb never reached the slow step"
        rb.kill()  # SIGKILL: no clean-up of any kind
    finally:
        _stopped(rb)
    http_server.state.release.set()  # from now on /slow answers at once

    listed = run_rb("runs", "list", "--db", store_url, "--format", "json", cwd=tmp_path)
    assert [r["status"] for r in json.loads(listed.stdout)] == ["interrupted"]

    resumed = run_rb("resume", "last", "--db", store_url, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "2 finished steps restored" in resumed.stdout
    # Every finished step's request went out exactly once; the step that was
    # cut off ran again, and the one after it once.
    assert _count(http_server, "/echo/first") == 1
    assert _count(http_server, "/echo/second") == 1
    assert _count(http_server, "/slow") == 2
    assert _count(http_server, "/echo/last") == 1

    # One execution with two starts, and its replay verifies.
    run = load_run(open_store(store_url), "last")
    assert run.status == "success"
    assert run.run_attempt == 2
    assert [a["status"] for a in run.attempts] == ["interrupted", "success"]
    assert {s.step_id: s.run_attempt for s in run.steps} == {
        "first": 1,
        "second": 1,
        "blocked": 2,
        "last": 2,
    }
    assert run.steps[0].outputs == {"n": 1}  # restored from the recording, not fetched again
    shown = run_rb("runs", "show", run.id[:8], "--db", store_url, cwd=tmp_path)
    assert "attempt 2 resume" in shown.stdout
    replayed = run_rb("replay", run.id[:8], "--db", store_url, cwd=tmp_path)
    assert "REPLAY VERIFIED" in replayed.stdout, replayed.stdout + replayed.stderr

    again = run_rb("resume", run.id[:8], "--db", store_url, cwd=tmp_path)
    assert again.returncode == 2
    assert "is success" in again.stderr and "rb retry" in again.stderr


FIXTURE_CHAIN = """\
id: steps3
name: Three steps
version: "1"
steps:
  - id: a
    type: shell
    inputs: {command: echo, args: [a]}
    outputs: {out: "${result.stdout}"}
  - id: b
    type: shell
    depends_on: [a]
    inputs: {command: echo, args: ["${steps.a.outputs.out}b"]}
  - id: c
    type: shell
    depends_on: [b]
    inputs: {command: echo, args: [c]}
"""


def test_retry_runs_the_step_and_those_after_it_and_restores_the_rest(
    tmp_path: Path, store_url: str
) -> None:
    _write(tmp_path, FIXTURE_CHAIN)
    ran = run_rb("run", "rb.yaml", "--db", store_url, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    store = open_store(store_url)
    first = load_run(store, "last")

    again = retry(first.id, "b", store=store)
    assert again.result.status == "success"
    assert again.execution_id == first.id
    assert {s for s, o in again.result.steps.items() if o.restored} == {"a"}
    run = get_run(store, first.id)
    assert run is not None
    assert {s.step_id: s.run_attempt for s in run.steps} == {"a": 1, "b": 2, "c": 2}
    # Restored outputs feed the steps that run again: b saw a's recorded output.
    b = next(s for s in run.steps if s.step_id == "b")
    assert b.inputs["args"] == ["a\nb"]

    unknown = run_rb("retry", first.id[:8], "--step", "nope", "--db", store_url, cwd=tmp_path)
    assert unknown.returncode == 2 and "has no step 'nope'" in unknown.stderr
    replayed = run_rb("replay", first.id[:8], "--db", store_url, cwd=tmp_path)
    assert "REPLAY VERIFIED" in replayed.stdout, replayed.stdout + replayed.stderr


CANCELLABLE = """\
id: cancellable
name: Cancellable
version: "1"
on_cancel: rollback
steps:
  - id: prepare
    type: shell
    inputs: {command: sh, args: ["-c", "echo prepared"]}
    rollback:
      type: shell
      inputs: {command: sh, args: ["-c", "echo undone > \\"$1\\"", "sh", "MARK"]}
  - id: spawn
    type: shell
    depends_on: [prepare]
    inputs:
      command: sh
      args: ["-c", "sleep 300 & echo $! > \\"$1\\"; wait", "sh", "FIFO"]
  - id: never
    type: shell
    depends_on: [spawn]
    inputs: {command: echo, args: [never]}
"""


def test_cancel_ends_the_shell_steps_process_group_and_runs_the_rollback(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    mark = tmp_path / "undone"
    with grandchild_fifo(tmp_path) as (fifo, fd):
        _write(tmp_path, CANCELLABLE.replace("FIFO", str(fifo)).replace("MARK", str(mark)))
        rb = _rb_run(tmp_path, db)
        try:
            with watched(read_pid(fd)) as grandchild:
                cancelled = run_rb("cancel", "last", "--db", db, cwd=tmp_path)
                assert cancelled.returncode == 0, cancelled.stderr
                assert "cancel requested" in cancelled.stdout
                assert ended(grandchild), "the shell step's child outlived the cancel"
        finally:
            out, err = _stopped(rb)
    assert rb.returncode == 1, out + err
    assert mark.read_text() == "undone\n"  # on_cancel: rollback ran prepare's compensation
    run = load_run(open_store(db), "last")
    assert run.status == "cancelled"
    assert {s.step_id: s.status for s in run.steps} == {
        "prepare": "succeeded",
        "spawn": "skipped",
        "never": "skipped",
    }
    ended_run = run_rb("cancel", run.id[:8], "--db", db, cwd=tmp_path)
    assert ended_run.returncode == 2 and "has ended" in ended_run.stderr


PAUSABLE = """\
id: pausable
name: Pausable
version: "1"
steps:
  - id: hold
    type: api_call
    inputs: {url: "URL/slow"}
  - id: after
    type: api_call
    depends_on: [hold]
    inputs: {url: "URL/echo/after"}
"""


def test_pause_lets_the_running_step_finish_and_resume_continues(
    tmp_path: Path, http_server: Any
) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    _write(tmp_path, PAUSABLE.replace("URL", http_server.url("")))
    rb = _rb_run(tmp_path, db)
    try:
        assert http_server.state.slow_started.wait(BOUND_SECONDS)
        store = open_store(db)
        paused = request_control("last", "pause", actor="op", store=store)
        assert paused.outcome == "requested"
        # The pause is taken before the step ends; then the step may finish.
        _wait_handled(store, paused.execution_id)
        http_server.state.release.set()
    finally:
        out, err = _stopped(rb)
    run = load_run(store, "last")
    assert run.status == "waiting", out + err
    assert [w["kind"] for w in run.waiting_for] == ["pause"]
    assert _count(http_server, "/echo/after") == 0  # no new step started
    listed = run_rb("runs", "list", "--db", db, cwd=tmp_path)
    assert "waiting for pause" in listed.stdout

    resumed = run_rb("resume", run.id[:8], "--db", db, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _count(http_server, "/slow") == 1  # the step that finished is not run again
    assert _count(http_server, "/echo/after") == 1
    assert load_run(store, run.id).status == "success"


def _wait_handled(store: Any, execution_id: str) -> None:
    """Until rb has taken the control request (bounded; each look is a query)."""
    import time

    from rb.store.tables import control

    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        with store.begin() as conn:
            row = conn.execute(control.select().where(control.c.execution_id == execution_id)).one()
        if row.handled_at is not None:
            return
        time.sleep(0.05)
    pytest.fail("rb never took the pause request")


TIMED = """\
id: timed
name: Timed
version: "1"
timeout_seconds: 30
steps:
  - id: quick
    type: wait
    inputs: {seconds: 5}
  - id: slow
    type: wait
    depends_on: [quick]
    inputs: {seconds: 3600}
  - id: later
    type: wait
    depends_on: [slow]
    inputs: {seconds: 1}
"""


def test_the_runs_timeout_bounds_it_on_the_fixtures_virtual_clock(tmp_path: Path) -> None:
    runbook = require_valid(load_text(TIMED, "timed.yaml"))
    fixture = from_data({"runbook": "timed"}, "inline")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    ran = execute(fixture_request(runbook, fixture, recording=Recording(store=store)))
    result = ran.result
    assert result.status == "timed_out"
    assert "timeout_seconds (30s)" in result.error
    assert {s: o.status for s, o in result.steps.items()} == {
        "quick": "succeeded",
        "slow": "skipped",
        "later": "skipped",
    }
    assert result.duration_seconds == pytest.approx(30)  # virtual seconds: no test waits them
    assert ran.execution_id is not None
    assert load_run(store, ran.execution_id).status == "timed_out"
    # Its steps were answered by a fixture: it is never continued live.
    with pytest.raises(UsageError, match="ran against a fixture"):
        resume(ran.execution_id, store=store)


def test_resume_and_pause_refuse_a_run_that_has_ended(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    _write(tmp_path, FIXTURE_CHAIN)
    assert run_rb("run", "rb.yaml", "--db", db, cwd=tmp_path).returncode == 0
    store = open_store(db)
    with pytest.raises(UsageError, match="only a waiting, interrupted, failed"):
        resume("last", store=store)
    paused = run_rb("pause", "last", "--db", db, cwd=tmp_path)
    assert paused.returncode == 2 and "has ended" in paused.stderr


def test_pause_resume_and_cancel_through_the_api(
    tmp_path: Path, http_server: Any, project: Path
) -> None:
    from .rb_server import API_TOKEN, BEARER, config_for, serving

    db = f"sqlite:///{project}/.rb/rb.db"
    _write(tmp_path, PAUSABLE.replace("URL", http_server.url("")))
    with serving(config_for(project, token=API_TOKEN), headers=BEARER) as api:
        rb = _rb_run(tmp_path, db)
        try:
            assert http_server.state.slow_started.wait(BOUND_SECONDS)
            store = open_store(db)
            run_id = load_run(store, "last").id
            asked = api.client.post(f"/api/executions/{run_id}/pause")
            assert asked.status_code == 202, asked.text
            assert asked.json()["outcome"] == "requested"
            _wait_handled(store, run_id)
            http_server.state.release.set()
        finally:
            _stopped(rb)
        assert api.client.get(f"/api/executions/{run_id}").json()["status"] == "waiting"
        query = "query($id: ID!) { runbookExecution(id: $id) { status runAttempt waitingFor } }"
        parked = api.graphql(query, id=run_id)["data"]["runbookExecution"]
        assert parked == {
            "status": "WAITING",
            "runAttempt": 1,
            "waitingFor": [{"kind": "pause", "step_id": None}],
        }

        refused = api.client.post(f"/api/executions/{run_id}/pause", json={})
        assert refused.status_code == 409 and "already waiting" in refused.json()["error"]
        resumed = api.client.post(f"/api/executions/{run_id}/resume", json={"wait": True})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "success"
        assert resumed.json()["run_attempt"] == 2
        assert _count(http_server, "/echo/after") == 1

        ended = api.client.post(f"/api/executions/{run_id}/cancel")
        assert ended.status_code == 409 and "has ended" in ended.json()["error"]
        unknown = api.client.post("/api/executions/ffffffff/cancel")
        assert unknown.status_code == 404
        not_json = api.client.post(f"/api/executions/{run_id}/cancel", content=b"[1]")
        assert not_json.status_code == 415  # the guard: JSON bodies only
        not_object = api.client.post(f"/api/executions/{run_id}/cancel", json=[1])
        assert not_object.status_code == 400
    with serving(config_for(project, token=API_TOKEN), headers={}) as anonymous:
        assert anonymous.client.post(f"/api/executions/{run_id}/cancel").status_code == 401


def test_a_live_runs_timeout_ends_its_shell_steps_process_group(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    with grandchild_fifo(tmp_path) as (fifo, fd):
        text = CANCELLABLE.replace("FIFO", str(fifo)).replace("MARK", str(tmp_path / "undone"))
        _write(tmp_path, text.replace("on_cancel: rollback", "timeout_seconds: 1"))
        rb = _rb_run(tmp_path, db)
        try:
            with watched(read_pid(fd)) as grandchild:
                assert ended(grandchild), "the shell step's child outlived the run's timeout"
        finally:
            out, err = _stopped(rb)
    assert rb.returncode == 1, out + err
    assert "timeout_seconds (1s)" in out
    run = load_run(open_store(db), "last")
    assert run.status == "timed_out"
    assert {s.step_id: s.status for s in run.steps}["spawn"] == "skipped"
    assert not (tmp_path / "undone").exists()  # a timeout is not a cancel: no rollback asked
