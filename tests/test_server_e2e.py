"""`rb serve` as users run it: a real process on a free port, and the store on
PostgreSQL as well as SQLite."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rb.store.database import open_store
from rb.store.queries import get_run

from .conftest import ROOT, run_rb
from .rb_server import FIXTURE, config_for, make_project, serving
from .services import postgres_schema, rb_serve_process


@pytest.fixture
def rb_serve(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`python -m rb serve` in the repository (its runbooks and fixtures), with a
    token; yields its URL and the store URL, and stops it with SIGINT after."""
    db = f"sqlite:///{tmp_path}/serve.db"
    with rb_serve_process(
        "--db",
        db,
        cwd=ROOT,
        env={"RB_API_TOKEN": "e2e-token-5b1f0c9e2d7a4f6b8c3e1a9d0f2b4c6e", "NO_COLOR": "1"},
        stop_signal=signal.SIGINT,
        stop_timeout=30,
    ) as served:
        yield served.url, db
    assert served.process.returncode == 0, served.process.output


def test_rb_serve_executes_a_runbook_over_http_and_records_it(
    rb_serve: tuple[str, str],
) -> None:
    url, db = rb_serve
    body = {
        "runbook_id": "rb-003-canary-deployment",
        "inputs": {},
        "fixture": "fixtures/canary-deployment.yaml",
    }
    denied = httpx.post(f"{url}/api/runbooks/execute", json=body, timeout=60)
    assert denied.status_code == 401
    response = httpx.post(
        f"{url}/api/runbooks/execute",
        json=body,
        headers={"Authorization": "Bearer e2e-token-5b1f0c9e2d7a4f6b8c3e1a9d0f2b4c6e"},
        timeout=60,
    )
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "success"  # as the seed's k6 script checks
    shown = run_rb("runs", "show", data["id"], "--db", db, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["runbook_id"] == "rb-003-canary-deployment"


def test_rb_serve_refuses_a_missing_runbooks_folder(tmp_path: Path) -> None:
    result = run_rb("serve", "--runbooks", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no runbooks folder" in result.stderr


def test_executions_are_recorded_in_postgresql(tmp_path: Path, postgres_url: str) -> None:
    project = make_project(tmp_path / "project")
    with postgres_schema(postgres_url, "rb_serve") as db, serving(config_for(project, db)) as api:
        assert api.client.get("/health/ready").json()["status"] == "ready"
        executed = api.execute(runbook_id="srv-greet", fixture=FIXTURE, inputs={"times": 2})
        assert executed.status_code == 200
        data = executed.json()
        assert data["status"] == "success"
        failed = api.execute(runbook_id="srv-greet", fixture=FIXTURE, inputs={"path": "/broken"})
        assert failed.json()["status"] == "failure"
        replayed = api.client.post(f"/api/executions/{data['id']}/replay").json()
        assert replayed["verified"] is True
        store = open_store(db)
        run = get_run(store, data["id"])
        assert run is not None
        assert (run.status, run.world, run.actor) == (
            "success",
            "fixture",
            "api-token",
        )
        assert [s.step_id for s in run.steps] == ["greet"]
        assert len([e for e in run.exchanges or () if e.kind == "http"]) == 1
        assert api.client.get(f"/api/executions/{data['id']}").json() == data
