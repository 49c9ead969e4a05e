"""`rb serve` in queue mode, schedules fired onto the queue, and the queue's edges,
with real `rb worker` processes on a real PostgreSQL (docs/scaling.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rb.service.queue_app import queue_app
from rb.store.database import Store, open_store
from rb.store.queries import list_runs

from .conftest import run_rb
from .rb_server import FIXTURE, bearer_for, config_for, make_project, serving
from .worker_helpers import WorkerPool, queue, wait_status, worker_pool, write_runbook

APPROVE_THEN_GREET = """\
id: approve-then-greet
name: Approve, then greet
version: "1"
steps:
  - id: ask
    type: approval
    inputs:
      approvers: [alice]
      timeout_seconds: 3600
  - id: after
    type: shell
    depends_on: [ask]
    inputs: {command: echo, args: [approved]}
"""

SCHEDULED = """\
id: nightly
name: Nightly
version: "1"
parameters:
  region: {type: string}
schedule:
  cron: "30 2 * * *"
  timezone: Europe/Berlin
  params: {region: eu-west}
steps:
  - id: say
    type: shell
    inputs: {command: echo, args: ["${params.region}"]}
    outputs: {said: "${result.stdout}"}
"""


@pytest.fixture
def store(queue_url: str) -> Iterator[Store]:
    opened = open_store(queue_url)
    yield opened
    opened.dispose()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.fixture
def pool(queue_url: str, project: Path) -> Iterator[WorkerPool]:
    with worker_pool(queue_url, project) as workers:
        yield workers


def test_serve_queues_an_execution_with_202_and_a_worker_runs_it(
    project: Path, queue_url: str, store: Store, pool: WorkerPool
) -> None:
    config = config_for(project, db=queue_url, queue="runbooks")
    with serving(config) as api:
        queued = api.execute(runbook_id="srv-greet", fixture=FIXTURE, wait=False)
        assert queued.status_code == 202, queued.text
        body = queued.json()
        assert body["status"] == "queued"
        assert queued.headers["Location"] == f"/api/executions/{body['id']}"
        # Nothing runs in the server: the row waits for a worker.
        assert api.client.get(f"/api/executions/{body['id']}").json()["status"] == "queued"
        worker = pool.start("w1")
        run = wait_status(store, body["id"], "success")
        assert run.steps[0].outputs == {"said": {"message": "hello"}}
        assert f"execution {body['id']}: success" in worker.wait_for_line(
            body["id"] + ": success", timeout=30
        )
        # "wait": true (the default) answers with the record once the worker has run it.
        waited = api.execute(runbook_id="srv-greet", fixture=FIXTURE)
        assert waited.status_code == 200, waited.text
        assert waited.json()["status"] == "success"
        assert waited.json()["actor"] == "api-token"


def test_a_bad_request_is_refused_before_anything_is_queued(
    project: Path, queue_url: str, store: Store
) -> None:
    with serving(config_for(project, db=queue_url, queue="runbooks")) as api:
        assert api.execute(runbook_id="srv-greet", inputs={"times": 9}).status_code == 400
        bad = api.execute(runbook_id="srv-greet", fixture=FIXTURE, inputs={"times": 9})
        assert bad.status_code == 400 and "times" in bad.text
        outside = api.execute(runbook_id="srv-greet", fixture="../escape.yaml")
        assert outside.status_code == 400
    assert list_runs(store) == []


def test_an_idempotency_key_answers_with_the_first_queued_execution(
    project: Path, queue_url: str, store: Store
) -> None:
    with serving(config_for(project, db=queue_url, queue="runbooks")) as api:
        headers = {"Idempotency-Key": "deploy-42"}
        first = api.client.post(
            "/api/runbooks/execute",
            json={"runbook_id": "srv-greet", "fixture": FIXTURE, "wait": False},
            headers=headers,
        )
        again = api.client.post(
            "/api/runbooks/execute",
            json={"runbook_id": "srv-greet", "fixture": FIXTURE, "wait": False},
            headers=headers,
        )
    assert first.status_code == 202, first.text
    assert again.json()["id"] == first.json()["id"]
    assert [r.id for r in list_runs(store)] == [first.json()["id"]]


def test_an_approval_through_the_api_continues_the_run_on_a_worker(
    project: Path, queue_url: str, store: Store, pool: WorkerPool
) -> None:
    write_runbook(project, "approve-then-greet", APPROVE_THEN_GREET)
    config = config_for(project, db=queue_url, queue="runbooks")
    with serving(config) as api:
        worker = pool.start("w1")
        started = api.execute(runbook_id="approve-then-greet", wait=False)
        execution_id = started.json()["id"]
        parked = wait_status(store, execution_id, "waiting")
        assert [s.step_id for s in parked.steps if s.status == "succeeded"] == []
        answer = api.client.post(
            f"/api/executions/{execution_id}/approvals",
            json={"decision": "approve", "wait": True},
            headers=bearer_for(store, "alice"),
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["resumed"] is True and answer.json()["status"] == "success"
    worker.wait_for_line(f"execution {execution_id}: continued", timeout=30)
    run = wait_status(store, execution_id, "success")
    assert [a["reason"] for a in run.attempts] == ["run", "resume"]


def test_a_schedule_fires_once_onto_the_queue_and_a_worker_runs_it(
    project: Path, queue_url: str, store: Store, pool: WorkerPool
) -> None:
    from rb.worker.schedules import ScheduleDeferrer, schedule_registry

    write_runbook(project, "nightly", SCHEDULED)
    book = open_runbook(project / "runbooks" / "nightly.yaml")
    # 02:30 in Berlin on a winter night is 01:30 UTC: drive the deferrer there,
    # five seconds after the fire, as two workers would.
    fire = datetime(2026, 12, 7, 1, 30, tzinfo=UTC).timestamp()

    async def tick_twice() -> None:
        app = queue_app(queue_url, max_size=3)
        async with app.open_async():
            for _ in range(2):
                registry = schedule_registry(app, [("runbooks/nightly.yaml", book)])
                await ScheduleDeferrer(app, registry).tick(fire + 5)

    asyncio.run(tick_twice())
    worker = pool.start("w1")
    worker.wait_for_line("schedule of nightly fired", timeout=30)
    worker.wait_for_line(": success", timeout=30)
    runs = list_runs(store)
    assert [(r.runbook_id, r.status, r.actor) for r in runs] == [("nightly", "success", "schedule")]
    run = wait_status(store, runs[0].id, "success")
    assert run.steps[0].outputs == {"said": "eu-west\n"}  # the schedule's params reached it
    assert run.metadata["params"] == {"region": "eu-west"}


def open_runbook(path: Path) -> Any:
    from rb.loader import load_file
    from rb.service.runbooks import require_valid

    return require_valid(load_file(path))


def test_the_queue_needs_postgresql(tmp_path: Path) -> None:
    project = make_project(tmp_path / "sqlite-project")
    db = f"sqlite:///{project}/.rb/rb.db"
    queued = run_rb("run", "srv-greet", "--queue", "--db", db, cwd=project)
    assert queued.returncode == 2
    assert "--queue needs a PostgreSQL store" in queued.stderr
    worker = run_rb("worker", "--db", db, cwd=project)
    assert worker.returncode == 2 and "rb worker needs a PostgreSQL store" in worker.stderr
    served = run_rb("serve", "--queue", "--db", db, cwd=project)
    assert served.returncode == 2 and "--queue needs a PostgreSQL store" in served.stderr


def test_loadtest_generate_enqueue_sends_wait_false_and_expects_202(tmp_path: Path) -> None:
    out = tmp_path / "queue.js"
    generated = run_rb(
        "loadtest", "generate", "rb-002-database-failover-check", "--enqueue", "-o", str(out)
    )
    assert generated.returncode == 0, generated.stderr
    script = out.read_text()
    body = json.loads(script.split("const BODY = JSON.stringify(", 1)[1].split(");", 1)[0])
    assert body["wait"] is False
    assert '"status is 202": (r) => r.status === 202' in script
    assert 'outcome === "queued"' in script
    assert "--enqueue" in script  # the command that writes it again


def test_rb_resume_hands_a_queued_run_to_a_worker(
    project: Path, queue_url: str, store: Store, pool: WorkerPool
) -> None:
    write_runbook(project, "approve-then-greet", APPROVE_THEN_GREET)
    worker = pool.start("w1")
    execution_id = queue(queue_url, project, "runbooks/approve-then-greet.yaml")
    wait_status(store, execution_id, "waiting")
    resumed = run_rb("resume", execution_id[:8], "--db", queue_url, cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert f"run {execution_id[:8]} goes on on a worker" in resumed.stdout
    # The worker, not the CLI, continues it: still unapproved, it parks again.
    worker.wait_for_line(f"execution {execution_id}: continued", timeout=30)
    worker.wait_for_line(f"execution {execution_id}: waiting", timeout=30)
    run = wait_status(store, execution_id, "waiting")
    assert [a["reason"] for a in run.attempts] == ["run", "resume"]
