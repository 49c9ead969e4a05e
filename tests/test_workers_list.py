"""`rb workers list` and the queue's /metrics, against a real `rb worker` and PostgreSQL.

A runbook whose shell step waits for a file the test creates keeps executions
running while the test looks at them; the worker logs each one it starts, so
the test waits on its log, never on the clock.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rb.service.workers import QueueStats, stats
from rb.store.database import open_store

from .conftest import run_rb
from .rb_server import config_for, make_project, serving
from .services import postgres_schema, running_process

# The step waits (a bounded loop, up to 60 s) until the test creates RELEASE.
BLOCKER = """\
id: blocker
name: Blocks until released
version: "1"
steps:
  - id: hold
    type: shell
    inputs:
      command: sh
      args:
        - "-c"
        - 'i=0; while [ ! -f "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; test -f "$1"'
        - sh
        - "RELEASE"
"""


def _project(root: Path) -> tuple[Path, Path]:
    project = make_project(root / "project")
    release = root / "release"
    text = BLOCKER.replace("RELEASE", str(release))
    (project / "runbooks" / "blocker.yaml").write_text(text, encoding="utf-8")
    return project, release


def _queue(project: Path, url: str) -> str:
    done = run_rb(
        "run", "runbooks/blocker.yaml", "--queue", "--db", url, "--format", "json", cwd=project
    )
    assert done.returncode == 0, done.stdout + done.stderr
    execution_id: str = json.loads(done.stdout)["execution_id"]
    return execution_id


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_workers_list_and_metrics_show_the_running_executions(
    tmp_path: Path, queue_url: str
) -> None:
    project, release = _project(tmp_path)
    argv = [sys.executable, "-m", "rb", "worker", "--db", queue_url, "--project", str(project)]
    argv += ["--name", "w-observe", "--concurrency", "2", "--heartbeat", "1", "--grace", "0"]
    argv += ["--no-schedules"]
    env = {**os.environ, "NO_COLOR": "1"}
    with running_process(argv, name="rb worker", env=env, cwd=project) as worker:
        worker.wait_for_line("started as worker", timeout=60)
        queued = [_queue(project, queue_url) for _ in range(3)]
        # Two run (concurrency 2); the third waits for a free slot.
        started = {
            worker.wait_for_line("started (blocker)", timeout=60).split("execution ")[1][:36]
            for _ in range(2)
        }
        assert started < set(queued)
        waiting = (set(queued) - started).pop()

        listed = run_rb("workers", "list", "--db", queue_url, "--format", "json")
        assert listed.returncode == 0, listed.stderr
        (row,) = json.loads(listed.stdout)
        assert row["name"] == "w-observe"
        assert row["queues"] == ["runbooks"] and row["concurrency"] == 2
        assert row["pid"] == worker.process.pid
        assert {r["execution_id"] for r in row["running"]} == started, worker.output
        assert {r["runbook_id"] for r in row["running"]} == {"blocker"}
        assert all(r["running_seconds"] >= 0 for r in row["running"])

        table = run_rb("workers", "list", "--db", queue_url)
        assert table.returncode == 0, table.stderr
        header, line, summary = table.stdout.splitlines()
        assert header.split() == ["NAME", "HOST", "PID", "QUEUES", "CONC", "HEARTBEAT", "RUNNING"]
        assert line.startswith("w-observe") and f" {worker.process.pid} " in line
        for execution_id in started:
            assert f"{execution_id[:8]} blocker" in line
        assert waiting[:8] not in line
        assert summary == "1 worker, 2 executions running"

        with serving(config_for(project, db=queue_url)) as served:
            scraped = served.client.get("/metrics")
        assert scraped.status_code == 200
        samples = _samples(scraped.text)
        jobs = "rb_queue_jobs"
        assert samples[(jobs, (("queue", "runbooks"), ("state", "waiting")))] == 1
        assert samples[(jobs, (("queue", "runbooks"), ("state", "running")))] == 2
        assert samples[(jobs, (("queue", "runbooks"), ("state", "scheduled")))] == 0
        assert samples[("rb_worker_running_jobs", (("worker", "w-observe"),))] == 2
        assert samples[("rb_workers_live", ())] == 1
        assert samples[("rb_queue_oldest_waiting_seconds", (("queue", "runbooks"),))] >= 0
        assert samples[("rb_queue_wait_seconds", (("quantile", "0.5"),))] >= 0

        release.touch()
        for _ in queued:
            worker.wait_for_line(": success", timeout=60)
    assert worker.returncode == 0, worker.output
    # Drained, and a stopped worker is gone from the list and the metrics; the
    # finished jobs are kept an hour, so their waits (queued to started) count.
    drained = stats(open_store(queue_url))
    assert replace(drained, wait_p50_seconds=None, wait_p95_seconds=None, waits_observed=0) == (
        QueueStats()
    )
    assert drained.waits_observed == len(queued)
    assert drained.wait_p50_seconds is not None and drained.wait_p95_seconds is not None
    listed = run_rb("workers", "list", "--db", queue_url, "--format", "json")
    assert json.loads(listed.stdout) == []


def test_a_postgres_store_without_the_queue_has_no_workers_and_empty_stats(
    postgres_url: str,
) -> None:
    with postgres_schema(postgres_url, prefix="rb_workers") as url:
        store = open_store(url)  # rb's tables only: no rb db upgrade, no worker yet
        assert stats(store) == QueueStats()
        listed = run_rb("workers", "list", "--db", url)
        assert listed.returncode == 0, listed.stderr
        assert "no live workers" in listed.stdout and "start one with rb worker" in listed.stdout


def test_workers_list_on_sqlite_says_workers_need_postgres(tmp_path: Path) -> None:
    db = tmp_path / "rb.db"
    listed = run_rb("workers", "list", "--db", f"sqlite:///{db}")
    assert listed.returncode == 2
    assert "rb workers list needs a PostgreSQL store" in listed.stderr
    assert "RB_DATABASE_URL" in listed.stderr
    assert not db.exists()
    assert stats(open_store(f"sqlite:///{db}")) == QueueStats()


def test_without_workers_queued_runs_wait_and_a_later_job_is_scheduled(
    tmp_path: Path, queue_url: str
) -> None:
    from rb.service.enqueue import defer_again
    from rb.service.queue_app import queue_app

    project, _release = _project(tmp_path)
    for _ in range(2):
        _queue(project, queue_url)
    with queue_app(queue_url, max_size=1).open() as app:
        # What a worker does with a run that cannot start yet: its job, an hour on.
        defer_again(app, "not-yet", "runbooks", None, 3600)
    with serving(config_for(project, db=queue_url)) as served:
        samples = _samples(served.client.get("/metrics").text)
    jobs = "rb_queue_jobs"
    assert samples[(jobs, (("queue", "runbooks"), ("state", "waiting")))] == 2
    assert samples[(jobs, (("queue", "runbooks"), ("state", "scheduled")))] == 1
    assert samples[(jobs, (("queue", "runbooks"), ("state", "running")))] == 0
    assert samples[("rb_workers_live", ())] == 0
    assert samples[("rb_queue_oldest_waiting_seconds", (("queue", "runbooks"),))] > 0
    # Nothing has started: no wait time to report, and no worker series.
    assert not any(name == "rb_queue_wait_seconds" for name, _ in samples)
    assert not any(name == "rb_worker_running_jobs" for name, _ in samples)


def test_a_failing_queue_query_leaves_the_queue_metrics_out_not_the_scrape(
    tmp_path: Path, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlalchemy

    project, _release = _project(tmp_path)
    store = open_store(queue_url)
    with store.begin() as conn:  # the queue half there: its events table is gone
        conn.execute(sqlalchemy.text("DROP TABLE procrastinate_events"))
    with (
        caplog.at_level("WARNING", logger="rb.server"),
        serving(config_for(project, db=queue_url)) as served,
    ):
        scraped = served.client.get("/metrics")
    assert scraped.status_code == 200
    names = {name for name, _ in _samples(scraped.text)}
    assert "rb_executions_in_progress" in names  # the server's own metrics are there
    assert not any(n.startswith(("rb_queue_", "rb_worker")) for n in names)
    assert "queue metrics left out of /metrics" in caplog.text
    assert "procrastinate_events" in caplog.text
