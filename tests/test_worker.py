"""`rb worker` as operators run it: real worker processes on real PostgreSQL.

Each test has a fresh schema (rb's tables and procrastinate's, as `rb db
upgrade` makes them), a project folder of runbooks, workers started as
`python -m rb worker`, and a real HTTP server on 127.0.0.1 that counts what
the runbooks' steps send it. Tests wait for log lines and store states with
deadlines, never for a time. See docs/scaling.md.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from rb.service.queue_app import queue_app
from rb.service.runs import upgrade_store
from rb.store.database import Store, open_store
from rb.store.keys import status_of
from rb.store.queries import load_run
from rb.store.tables import executions

from .conftest import run_rb
from .worker_helpers import (
    RUN_WAIT,
    WorkerPool,
    queue,
    request_count,
    saw,
    wait_status,
    wait_until,
    worker_pool,
    write_runbook,
)

# Every test here needs the PostgreSQL test database (skips without it, unless
# RB_REQUIRE_POSTGRES=1).
pytestmark = pytest.mark.usefixtures("postgres_url")

FETCH_N = """\
id: fetch-n
name: Fetch n
version: "1"
parameters:
  n:
    type: integer
    description: Which request this execution sends.
steps:
  - id: fetch
    type: api_call
    inputs: {url: "URL/echo/n?n=${params.n}"}
"""

# Two steps, then one that blocks on the server (/slow) until the test lets
# it go, then one more: a deterministic point to kill, stop or cancel at.
CHAIN = """\
id: chain
name: Chain
version: "1"
steps:
  - id: first
    type: api_call
    inputs: {url: "URL/echo/first", method: POST, json: {n: 1}}
  - id: second
    type: api_call
    depends_on: [first]
    inputs: {url: "URL/echo/second", method: POST, json: {n: 2}}
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

APPROVAL = """\
id: approve-me
name: Approve me
version: "1"
steps:
  - id: before
    type: api_call
    inputs: {url: "URL/echo/before"}
  - id: ask
    type: approval
    depends_on: [before]
    inputs:
      message: Go on?
      approvers: [alice]
      timeout_seconds: 3600
  - id: after
    type: api_call
    depends_on: [ask]
    inputs: {url: "URL/echo/after"}
"""

ONE_CALL = """\
id: {id}
name: One call
version: "1"
steps:
  - id: call
    type: api_call
    inputs: {{url: "URL/echo/{id}"}}
"""


@pytest.fixture
def store(queue_url: str) -> Iterator[Store]:
    opened = open_store(queue_url)
    yield opened
    opened.dispose()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def pool(queue_url: str, project: Path) -> Iterator[WorkerPool]:
    with worker_pool(queue_url, project) as workers:
        yield workers


def _book(project: Path, name: str, text: str, server: Any) -> str:
    return write_runbook(project, name, text.replace("URL", server.url("")))


def _holder_pid(store: Store, execution_id: str) -> int:
    """The pid of the process whose lease (host|pid|start) holds a running execution."""
    with store.begin() as conn:
        lease = conn.execute(
            executions.select()
            .with_only_columns(executions.c.lease)
            .where(executions.c.id == execution_id)
        ).scalar()
    assert lease and lease.count("|") == 2, f"execution {execution_id} is held by {lease!r}"
    return int(lease.split("|")[1])


# 1. Many executions, two workers -----------------------------------------------
def test_two_workers_run_each_of_100_executions_exactly_once(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    relative = _book(project, "fetch-n", FETCH_N, http_server)
    first = pool.start("w1", concurrency=2)
    second = pool.start("w2", concurrency=2)

    with queue_app(queue_url, max_size=1).open() as app:
        ids = {
            queue(queue_url, project, relative, params={"n": n}, app=app, store=store): n
            for n in range(100)
        }

    def all_ended() -> bool:
        return all(status_of(store, i) not in ("queued", "running") for i in ids)

    wait_until("100 executions to end", all_ended, timeout=RUN_WAIT * 3)
    assert {i: status_of(store, i) for i in ids} == dict.fromkeys(ids, "success")
    # The server saw each n exactly once: no execution ran twice.
    seen = Counter(r.query.get("n") for r in http_server.requests if r.path == "/echo/n")
    assert seen == Counter(str(n) for n in range(100))
    assert len(http_server.requests) == 100

    pool.stop_all()  # their logs are complete once they have stopped
    done = {
        w.name: [i for i in ids if f"execution {i}: success" in w.output] for w in (first, second)
    }
    assert all(done.values()), f"a worker ran none: { {k: len(v) for k, v in done.items()} }"
    assert sorted(done["rb worker w1"] + done["rb worker w2"]) == sorted(ids)


# 2. kill -9 mid-run -----------------------------------------------------------
def test_a_killed_workers_run_is_taken_over_without_repeating_finished_steps(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    relative = _book(project, "chain", CHAIN, http_server)
    workers = [pool.start("w1"), pool.start("w2")]
    execution_id = queue(queue_url, project, relative)

    assert http_server.state.slow_started.wait(RUN_WAIT), "no worker reached the blocking step"
    pid = _holder_pid(store, execution_id)
    [victim] = [w for w in workers if w.process.pid == pid]
    [survivor] = [w for w in workers if w is not victim]
    victim.process.kill()  # SIGKILL: no clean-up of any kind
    victim.process.wait()
    http_server.state.release.set()  # from now on /slow answers at once

    saw(survivor, f"execution {execution_id}: taken over from")
    saw(survivor, f"execution {execution_id}: success")
    run = load_run(store, execution_id)
    assert run.status == "success"
    # Finished steps were restored from the recording, not sent again; the
    # step in flight when the worker died ran again, and the one after it once.
    assert request_count(http_server, "/echo/first") == 1
    assert request_count(http_server, "/echo/second") == 1
    assert request_count(http_server, "/slow") == 2
    assert request_count(http_server, "/echo/last") == 1
    assert run.run_attempt == 2
    assert [a["status"] for a in run.attempts] == ["interrupted", "success"]
    assert {s.step_id: s.run_attempt for s in run.steps} == {
        "first": 1,
        "second": 1,
        "blocked": 2,
        "last": 2,
    }
    shown = run_rb("runs", "show", execution_id[:8], "--db", queue_url)
    assert "attempt 2 resume" in shown.stdout, shown.stdout + shown.stderr


# 3. Approvals hold no worker ----------------------------------------------------
def test_a_run_waiting_for_an_approval_frees_its_worker(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    approval = _book(project, "approve-me", APPROVAL, http_server)
    other = _book(project, "other", ONE_CALL.format(id="other"), http_server)
    worker = pool.start("only", concurrency=1)

    parked = queue(queue_url, project, approval, actor="bob")
    run = wait_status(store, parked, "waiting")
    assert [w["step_id"] for w in run.waiting_for] == ["ask"]
    saw(worker, f"execution {parked}: waiting")

    # The one slot is free while the approval waits: another run goes through.
    second = queue(queue_url, project, other)
    wait_status(store, second, "success")
    saw(worker, f"execution {second}: success")
    assert status_of(store, parked) == "waiting"

    approved = run_rb(
        "approve", parked, "--step", "ask", "--as", "alice", "--db", queue_url, cwd=project
    )
    assert approved.returncode == 0, approved.stdout + approved.stderr
    saw(worker, f"execution {parked}: continued (waiting)")
    saw(worker, f"execution {parked}: success")
    assert load_run(store, parked).status == "success"
    assert request_count(http_server, "/echo/before") == 1  # restored, not sent again
    assert request_count(http_server, "/echo/after") == 1


def test_an_approved_run_continues_on_the_worker_that_is_free(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    from rb.service.waits import decide

    approval = _book(project, "approve-me", APPROVAL, http_server)
    chain = _book(project, "chain", CHAIN, http_server)
    workers = [pool.start("w1"), pool.start("w2")]

    parked = queue(queue_url, project, approval, actor="bob")
    wait_status(store, parked, "waiting")
    # One worker is then kept busy by a run that blocks on the server.
    busy = queue(queue_url, project, chain)
    assert http_server.state.slow_started.wait(RUN_WAIT), "no worker reached the blocking step"
    [busy_worker] = [w for w in workers if w.process.pid == _holder_pid(store, busy)]
    [free_worker] = [w for w in workers if w is not busy_worker]

    answered = decide(store, parked, "approve", actor="alice", step_id="ask")
    assert answered.complete and answered.resumed is None  # handed to a worker, not run here
    saw(free_worker, f"execution {parked}: continued (waiting)")
    saw(free_worker, f"execution {parked}: success")

    http_server.state.release.set()
    saw(busy_worker, f"execution {busy}: success")
    pool.stop_all()
    assert f"execution {parked}: continued" not in busy_worker.output


# 5. A runbook file missing on a worker ------------------------------------------
def test_a_runbook_missing_on_the_worker_fails_the_execution_and_the_worker_goes_on(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, tmp_path: Path, http_server: Any
) -> None:
    missing = _book(project, "only-here", ONE_CALL.format(id="only-here"), http_server)
    present = _book(project, "everywhere", ONE_CALL.format(id="everywhere"), http_server)
    deployed = tmp_path / "deployed"  # the worker's copy of the project lacks one runbook
    (deployed / "runbooks").mkdir(parents=True)
    (deployed / present).write_text((project / present).read_text())
    worker = pool.start("w-old-deploy", project=deployed)

    failed = queue(queue_url, project, missing)
    run = wait_status(store, failed, "failure")
    expected_path = os.path.realpath(deployed / missing)
    assert run.error is not None
    assert "worker w-old-deploy" in run.error and expected_path in run.error, run.error
    assert request_count(http_server, "/echo/only-here") == 0

    after = queue(queue_url, project, present)
    saw(worker, f"execution {after}: success")
    assert status_of(store, after) == "success"
    assert worker.process.poll() is None  # still serving
    shown = run_rb("runs", "show", failed, "--db", queue_url, "--format", "json")
    assert "w-old-deploy" in json.loads(shown.stdout)["error"]


# 7. Cancel ---------------------------------------------------------------------------
def test_cancelling_a_queued_execution_keeps_workers_from_running_it(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    doomed_book = _book(project, "doomed", ONE_CALL.format(id="doomed"), http_server)
    later_book = _book(project, "later", ONE_CALL.format(id="later"), http_server)
    doomed = queue(queue_url, project, doomed_book)  # no worker runs yet

    cancelled = run_rb("cancel", doomed, "--db", queue_url)
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert status_of(store, doomed) == "cancelled"
    with store.begin() as conn:  # its job was cancelled on the queue too
        jobs = conn.execute(
            sqlalchemy.text(
                "SELECT status FROM procrastinate_jobs WHERE args->>'execution_id' = :id"
            ),
            {"id": doomed},
        ).scalars()
        assert list(jobs) == ["cancelled"]

    worker = pool.start("w1")
    later = queue(queue_url, project, later_book)  # queued after: taken after the doomed job
    saw(worker, f"execution {later}: success")
    assert status_of(store, doomed) == "cancelled"
    assert request_count(http_server, "/echo/doomed") == 0
    assert f"execution {doomed}" not in worker.output


def test_cancelling_a_running_execution_stops_it_on_its_worker(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    chain = _book(project, "chain", CHAIN, http_server)
    worker = pool.start("w1", concurrency=2)

    # `rb cancel`: the store's control table reaches the worker's run.
    by_cli = queue(queue_url, project, chain)
    assert http_server.state.slow_started.wait(RUN_WAIT), "the worker never reached /slow"
    asked = run_rb("cancel", by_cli, "--db", queue_url)
    assert asked.returncode == 0, asked.stdout + asked.stderr
    # Requested of the running worker, or already done by it when the job's abort got there first.
    assert "cancel requested" in asked.stdout or "cancelled" in asked.stdout, asked.stdout
    run = wait_status(store, by_cli, "cancelled")
    saw(worker, f"execution {by_cli}: cancelled")
    assert [s.step_id for s in run.steps if s.status == "succeeded"] == ["first", "second"]

    # procrastinate's abort of the job (as the API cancels a queued run's job).
    from rb.service.enqueue import abort_jobs

    http_server.state.slow_started.clear()
    by_abort = queue(queue_url, project, chain)
    assert http_server.state.slow_started.wait(RUN_WAIT), "the worker never reached /slow"
    with queue_app(queue_url, max_size=1).open() as app:
        assert abort_jobs(app, store, by_abort) == 1
    wait_status(store, by_abort, "cancelled")
    saw(worker, f"execution {by_abort}: cancelled")
    assert request_count(http_server, "/echo/last") == 0  # neither went past the blocking step


# 6. SIGTERM: the run is paused and handed back -------------------------------------
def test_sigterm_hands_a_running_execution_back_to_the_queue(
    pool: WorkerPool, project: Path, store: Store, queue_url: str, http_server: Any
) -> None:
    chain = _book(project, "chain", CHAIN, http_server)
    stopping = pool.start("w-stopping", grace=0)
    execution_id = queue(queue_url, project, chain)
    assert http_server.state.slow_started.wait(RUN_WAIT), "the worker never reached /slow"

    stopping.process.send_signal(signal.SIGTERM)
    # With --grace 0 the run is asked to pause at once; the step in flight finishes.
    saw(stopping, f"execution {execution_id}: worker stopping")
    http_server.state.release.set()
    saw(stopping, f"execution {execution_id}: handed back")
    stopping.wait_for_line("rb worker: stopped", timeout=RUN_WAIT)
    assert stopping.process.wait(timeout=RUN_WAIT) == 0
    paused = load_run(store, execution_id)
    assert paused.status == "waiting"
    assert [w["kind"] for w in paused.waiting_for] == ["pause"]
    assert request_count(http_server, "/echo/last") == 0

    successor = pool.start("w-next")
    saw(successor, f"execution {execution_id}: continued (waiting)")
    saw(successor, f"execution {execution_id}: success")
    run = load_run(store, execution_id)
    assert run.status == "success"
    # Every step ran once: the finished ones (the blocking one included) were restored.
    for path in ("/echo/first", "/echo/second", "/slow", "/echo/last"):
        assert request_count(http_server, path) == 1, path
    assert {s.step_id: s.run_attempt for s in run.steps} == {
        "first": 1,
        "second": 1,
        "blocked": 1,
        "last": 2,
    }


# 4. PostgreSQL goes away and comes back --------------------------------------------
def test_a_worker_reconnects_after_postgresql_restarts(project: Path, http_server: Any) -> None:
    from .worker_helpers import private_postgres

    relative = _book(project, "after-restart", ONE_CALL.format(id="after-restart"), http_server)
    with private_postgres() as cluster:
        upgrade_store(db=cluster.url)
        with worker_pool(cluster.url, project) as workers:
            worker = workers.start("w1")
            cluster.stop()  # the worker was waiting for jobs
            said = worker.wait_for_line("PostgreSQL is unreachable", timeout=RUN_WAIT)
            assert "connection" in said, said  # why, in psycopg's words
            cluster.start()
            worker.wait_for_line("started as worker", timeout=RUN_WAIT)

            execution_id = queue(cluster.url, project, relative)
            saw(worker, f"execution {execution_id}: success")
            store = open_store(cluster.url)
            try:
                assert status_of(store, execution_id) == "success"
            finally:
                store.dispose()
            assert request_count(http_server, "/echo/after-restart") == 1
            assert worker.process.poll() is None
