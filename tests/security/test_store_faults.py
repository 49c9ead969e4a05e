"""Recording faults: the console, the exit code and the store agree.

Real faults only: the writer process killed, a SQLite file write-locked by
another connection, a PostgreSQL session terminated by the server.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rb.engine.events import Event, StepStarted, StepSucceeded
from rb.service.request import Recording, RunRequest
from rb.service.runner import execute, live_world
from rb.store.database import StoreError, open_store
from rb.store.queries import load_run

from ..conftest import run_rb
from ..engine_helpers import runbook

# Step `kill` kills rb's writer process (a child of rb, like the shell).
KILLS_THE_WRITER = """\
id: kills-writer
name: Kills its writer
version: "1"
steps:
  - {id: one, type: shell, inputs: {command: "true"}}
  - id: kill
    type: shell
    depends_on: [one]
    inputs: {command: sh, args: ["-c", "kill -9 $(pgrep -P $PPID -f writer_[p]rocess)"]}
  - {id: three, type: shell, depends_on: [kill], inputs: {command: touch, args: [ran-three]}}
"""


def test_a_killed_writer_stops_the_run_before_its_next_step(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "rb.yaml").write_text(KILLS_THE_WRITER)
    ran = run_rb("run", "rb.yaml", "--db", store_url, cwd=tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "recording failed" in ran.stderr and "stopped before step 'three'" in ran.stderr
    assert not (tmp_path / "ran-three").exists(), "a step ran after recording failed"
    # The console shows as finished only what the store holds.
    shown = [line.split()[1] for line in ran.stdout.splitlines() if line.startswith("ok ")]
    record = json.loads(
        run_rb("runs", "show", "last", "--format", "json", "--db", store_url, cwd=tmp_path).stdout
    )
    stored = [s["step_id"] for s in record["step_logs"] if s["status"] == "succeeded"]
    assert shown == ["one"] and stored == ["one"], ran.stdout
    assert record["status"] == "failure"
    assert "recording failed" in json.dumps(record)


CHAIN = """\
id: chain
name: Chain
version: "1"
steps:
  - {id: one, type: shell, inputs: {command: "true"}}
  - {id: two, type: shell, depends_on: [one], inputs: {command: "true"}}
  - {id: three, type: shell, depends_on: [two], inputs: {command: touch, args: [THREE]}}
"""


def _chain(tmp_path: Path) -> str:
    return CHAIN.replace("THREE", str(tmp_path / "ran-three"))


def _run_chain_on_a_locked_file(
    tmp_path: Path, url: str, listener: Callable[[Event], None]
) -> StoreError:
    """Run the chain live, recorded to `url`; the StoreError that stops it."""
    with pytest.raises(StoreError, match="database is locked") as failed:
        execute(
            RunRequest(
                runbook(_chain(tmp_path)),
                live_world(secrets={}, facts={}),
                params={},
                listeners=[listener],
                recording=Recording(db=url),
            )
        )
    return failed.value


def test_a_sqlite_file_locked_before_the_run_starts_runs_no_step(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    open_store(url)  # migrated, so only the run's own writes meet the lock
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    seen: list[Event] = []
    try:
        failed = _run_chain_on_a_locked_file(tmp_path, url, seen.append)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "stopped before step 'one'" in str(failed)
    assert not any(isinstance(e, StepStarted) for e in seen)
    assert not (tmp_path / "ran-three").exists()


def test_a_sqlite_file_locked_mid_run_stops_before_the_next_step(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    store = open_store(url)
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None, check_same_thread=False)
    seen: list[str] = []

    def lock_after_one(event: Event) -> None:
        # Told once step one is committed: from now on the file is locked.
        if isinstance(event, StepSucceeded):
            seen.append(event.step_id)
            if event.step_id == "one":
                holder.execute("BEGIN IMMEDIATE")

    try:
        failed = _run_chain_on_a_locked_file(tmp_path, url, lock_after_one)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "stopped before step 'three'" in str(failed)
    assert not (tmp_path / "ran-three").exists()
    # Step two ran but could not be stored: it was never shown as finished.
    assert seen == ["one"]
    with store.connect() as conn:
        import sqlalchemy

        (run_id,) = conn.execute(sqlalchemy.text("SELECT id FROM runbook_executions")).scalars()
    assert [s.step_id for s in load_run(store, run_id).steps] == ["one"]


def test_a_crash_in_a_run_ends_its_record_as_failure(store_url: str, tmp_path: Path) -> None:
    """No execution stays `running` in a process that lives on (as `rb serve` does)."""
    store = open_store(store_url)

    def crash(event: Event) -> None:
        if isinstance(event, StepSucceeded) and event.step_id == "one":
            raise RuntimeError("a bug in a listener")

    with pytest.raises(RuntimeError):
        execute(
            RunRequest(
                runbook(_chain(tmp_path)),
                live_world(secrets={}, facts={}),
                params={},
                listeners=[crash],
                recording=Recording(db=store_url),
            )
        )
    with store.connect() as conn:
        import sqlalchemy

        rows = conn.execute(sqlalchemy.text("SELECT status, metadata FROM runbook_executions"))
        ((status, metadata),) = list(rows)
    assert status == "failure"
    assert "RuntimeError: a bug in a listener" in str(metadata)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", __file__]))


UNSTORABLE = """\
id: unstorable
name: Outputs JSON cannot hold
version: "1"
steps:
  - id: one
    type: wait
    inputs: {seconds: 0}
    outputs: {root: "${(-8)**0.5}"}
    on_failure: log_and_continue
  - id: nan
    type: shell
    depends_on: [one]
    inputs: {command: printf, args: ['{"x": NaN}']}
    outputs: {x: "$.json.x"}
  - {id: two, type: shell, depends_on: [nan], inputs: {command: touch, args: [ran-two]}}
"""


def test_a_value_the_store_cannot_hold_fails_its_step_not_rb(
    store_url: str, tmp_path: Path
) -> None:
    # A complex number and a NaN read from JSON: PostgreSQL refuses both, and
    # SQLite would keep invalid JSON; each fails its step with the reason.
    (tmp_path / "rb.yaml").write_text(UNSTORABLE)
    ran = run_rb("run", "rb.yaml", "--db", store_url, cwd=tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr  # not a crash (3)
    assert "the result is not a real number" in ran.stdout, ran.stdout
    assert "$.json.x is not a finite number (NaN or infinity)" in ran.stdout, ran.stdout
    assert not (tmp_path / "ran-two").exists()
    shown = run_rb("runs", "show", "last", "--format", "json", "--db", store_url, cwd=tmp_path)
    record = json.loads(shown.stdout)
    assert record["status"] == "failure"
    assert {s["step_id"]: s["status"] for s in record["step_logs"]} == {
        "one": "failed",
        "nan": "failed",
        "two": "skipped",
    }
