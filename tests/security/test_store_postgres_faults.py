"""PostgreSQL going away mid-run: a real fault, made without stopping the shared server.

The writer's session is ended with pg_terminate_backend (what a server
restart or a failover does to it); a database of the test's own refuses new
connections (ALLOW_CONNECTIONS false) for an outage longer than the bound.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rb.engine.events import Event, StepSucceeded
from rb.service.request import Recording, RunRequest
from rb.service.runner import execute, live_world
from rb.store import writer_child
from rb.store.database import StoreError, open_store
from rb.store.queries import load_run

from ..engine_helpers import runbook
from ..services import postgres_url
from .test_store_faults import _chain


@pytest.fixture
def own_database() -> Iterator[str]:
    """A store in a database of this test's own, dropped afterwards."""
    admin = postgres_url()
    name = f"rb_fault_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _end_the_writers_session(url: str, *, refuse: str | None = None) -> None:
    pid = writer_child._CHILDREN[url].process.pid
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        if refuse is not None:
            conn.execute(f"ALTER DATABASE {refuse} WITH ALLOW_CONNECTIONS false")
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"rb-writer-{pid}",),
        ).fetchall()
    assert ended == [(True,)], "the writer's session was not found"


def _run(url: str, tmp_path: Path, listener: object) -> tuple[str | None, list[str]]:
    seen: list[str] = []

    def listen(event: Event) -> None:
        if isinstance(event, StepSucceeded):
            seen.append(event.step_id)
            if event.step_id == "one":
                listener()  # type: ignore[operator]

    run_id = execute(
        RunRequest(
            runbook(_chain(tmp_path)),
            live_world(secrets={}, facts={}),
            params={},
            listeners=[listen],
            recording=Recording(db=url),
        )
    ).execution_id
    return run_id, seen


def test_a_lost_session_is_made_again_and_nothing_is_lost(
    own_database: str, tmp_path: Path
) -> None:
    run_id, seen = _run(own_database, tmp_path, lambda: _end_the_writers_session(own_database))
    assert run_id is not None and seen == ["one", "two", "three"]
    record = load_run(open_store(own_database), run_id)
    assert record.status == "success"
    assert [s.step_id for s in record.steps] == ["one", "two", "three"]


def test_an_outage_longer_than_the_bound_stops_the_run(
    own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_child, "RECONNECT_SECONDS", 0.5)
    store = open_store(own_database)
    name = own_database.rsplit("/", 1)[1]
    with pytest.raises(StoreError, match="recording failed") as failed:
        _run(own_database, tmp_path, lambda: _end_the_writers_session(own_database, refuse=name))
    assert "stopped before step 'three'" in str(failed.value)
    assert not (tmp_path / "ran-three").exists()
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
    import sqlalchemy

    with store.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT id, status FROM runbook_executions"))
        ((run_id, status),) = list(rows)
    # This process's own session was not ended: it says why the record stops at one.
    assert status == "failure"
    assert [s.step_id for s in load_run(store, run_id).steps] == ["one"]
