"""`rb serve`'s REST API against a real uvicorn: runbooks, executions, replay,
bad input, token auth, health and metrics."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rb.store.database import open_store
from rb.store.queries import get_run

from .conftest import run_rb
from .rb_server import BEARER, FIXTURE, LIVE_SECRET, Served, config_for, serving
from .servers import TestServer, closed_port


def greet(api: Served, **body: Any) -> httpx.Response:
    return api.execute(runbook_id="srv-greet", fixture=FIXTURE, **body)


# Runbooks -----------------------------------------------------------------------------


def test_lists_every_runbook_and_says_which_cannot_run(api: Served) -> None:
    response = api.client.get("/api/runbooks")
    assert response.status_code == 200
    books = {b["id"]: b for b in response.json()["runbooks"]}
    assert books["srv-greet"] == {
        "id": "srv-greet",
        "name": "Greeting",
        "version": "1.0.0",
        "owner": "platform-team",
        "legal_basis": "Test policy 7.1",
        "description": "Fetches a greeting.",
        "path": "runbooks/greet.yaml",
        "valid": True,
        "steps": 1,
    }
    assert books["srv-broken"]["valid"] is False
    assert any("nowhere" in e for e in books["srv-broken"]["errors"])


def test_gets_one_runbook_with_parameters_and_steps(api: Served) -> None:
    data = api.client.get("/api/runbooks/srv-greet").json()
    assert [p["name"] for p in data["parameters"]] == ["base_url", "path", "times"]
    times = data["parameters"][2]
    assert (times["type"], times["required"], times["default"]) == ("integer", False, 1)
    (step,) = data["steps"]
    assert step["id"] == "greet" and step["type"] == "data_fetch"
    assert step["inputs"]["headers"] == {"X-Token": "${secrets.API_TOKEN}"}  # a reference


def test_an_unknown_runbook_is_a_404_with_a_json_error(api: Served) -> None:
    response = api.client.get("/api/runbooks/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "no runbook 'nope'"}


def test_an_edited_runbook_is_served_as_edited(api: Served, project: Path) -> None:
    path = project / "runbooks" / "greet.yaml"
    path.write_text(path.read_text().replace('"1.0.0"', '"1.1.0"'), encoding="utf-8")
    assert api.client.get("/api/runbooks/srv-greet").json()["version"] == "1.1.0"


# Executing ----------------------------------------------------------------------------


def test_executes_against_a_fixture_and_answers_with_the_record(api: Served, project: Path) -> None:
    response = greet(api, inputs={})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "success"  # what the k6 script checks
    assert (data["runbook_id"], data["world"], data["actor"]) == (
        "srv-greet",
        "fixture",
        "api-token",
    )
    assert data["legal_basis"] == "Test policy 7.1"
    (log,) = data["step_logs"]
    assert log["step_id"] == "greet" and log["status"] == "succeeded"
    assert log["outputs"] == {"said": {"message": "hello"}}
    assert log["duration_seconds"] == 0.25  # the fixture's latency, in virtual time
    assert log["inputs"]["headers"] == {"X-Token": "***"}
    assert "fixture-secret-5f2a" not in response.text
    assert api.client.get(f"/api/executions/{data['id']}").json() == data


def test_an_execution_is_recorded_as_the_cli_records_it(api: Served, project: Path) -> None:
    data = greet(api, inputs={"times": 2}).json()
    db = config_for(project).db
    shown = run_rb("runs", "show", data["id"], "--format", "json", "--db", db, cwd=project)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert (record["status"], record["world"], record["actor"]) == (
        "success",
        "fixture",
        "api-token",
    )
    assert record["metadata"]["params"]["times"] == 2
    assert [s["step_id"] for s in record["step_logs"]] == ["greet"]
    request = record["exchanges"][-1]["request"]
    assert (request["url"], request["params"]) == ("http://greeter.test/greet", {"times": "2"})
    # One document: the API's is the CLI's, which adds the exchanges it read.
    rest = api.client.get(f"/api/executions/{data['id']}").json()
    assert rest == {k: v for k, v in record.items() if k != "exchanges"}


def test_the_actor_header_is_not_believed(api: Served) -> None:
    # The actor is the token's identity (RB_API_TOKEN's is api-token), whatever
    # the header says, and a malformed header changes nothing either.
    for claimed in ("alice@example.org", "x" * 201, ""):
        response = api.client.post(
            "/api/runbooks/execute",
            json={"runbook_id": "srv-greet", "fixture": FIXTURE},
            headers={"X-RB-Actor": claimed},
        )
        assert (response.status_code, response.json()["actor"]) == (200, "api-token")


def test_a_failing_runbook_is_a_200_with_status_failure(api: Served) -> None:
    response = greet(api, inputs={"path": "/broken"})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "failure"
    assert "step 'greet' failed" in data["error"]
    assert data["step_logs"][0]["status"] == "failed"


def test_a_live_run_masks_the_servers_secrets(api: Served, http_server: TestServer) -> None:
    response = api.execute(
        runbook_id="srv-greet", inputs={"base_url": http_server.base_url, "path": "/echo"}
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["world"]) == ("success", "live")
    assert http_server.last("/echo").headers["x-token"] == LIVE_SECRET  # really sent
    assert LIVE_SECRET not in response.text
    assert data["step_logs"][0]["outputs"]["said"]["headers"]["x-token"] == "***"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"inputs": {}}, 400, "runbook_id is required"),
        ({"runbook_id": 7}, 400, "runbook_id must be a string, not a number"),
        ({"runbook_id": "srv-greet", "inputs": [1]}, 400, "inputs must be a JSON object"),
        ({"runbook_id": "srv-greet", "inputs": "x"}, 400, "inputs must be a JSON object"),
        (
            {"runbook_id": "srv-greet", "fixture": FIXTURE, "inputs": {"times": "two"}},
            400,
            "parameter 'times'",
        ),
        (
            {"runbook_id": "srv-greet", "fixture": FIXTURE, "inputs": {"times": 9}},
            400,
            "parameter 'times'",
        ),
        (
            {"runbook_id": "srv-greet", "fixture": FIXTURE, "inputs": {"tims": 1}},
            400,
            "has no parameter 'tims'",
        ),
        ({"runbook_id": "srv-greet", "input": {}}, 400, "unknown field 'input'"),
        ({"runbook_id": "srv-greet", "wait": "no"}, 400, "wait must be true or false"),
        ({"runbook_id": "srv-greet", "fixture": 3}, 400, "fixture must be a path"),
        ({"runbook_id": "srv-greet", "fixture": "../outside.yaml"}, 400, "outside the project"),
        ({"runbook_id": "srv-greet", "fixture": "/etc/hostname"}, 400, "outside the project"),
        ({"runbook_id": "srv-greet", "fixture": "fixtures/none.yaml"}, 400, "no fixture file"),
        ({"runbook_id": "srv-greet", "fixture": "runbooks/greet.yaml"}, 400, "is not valid"),
        (
            {"runbook_id": "srv-greet", "fixture": FIXTURE, "facts": {"a": 1}},
            400,
            "facts come from the fixture",
        ),
        ({"runbook_id": "srv-greet", "facts": [1]}, 400, "facts must be a JSON object"),
        ({"runbook_id": "nope", "fixture": FIXTURE}, 404, "no runbook 'nope'"),
        ({"runbook_id": "srv-broken"}, 422, "runbook 'srv-broken' has errors"),
    ],
)
def test_a_bad_execute_request_is_a_4xx_naming_the_problem(
    api: Served, body: dict[str, Any], status: int, error: str
) -> None:
    response = api.client.post("/api/runbooks/execute", json=body)
    assert response.status_code == status, response.text
    assert error in response.json()["error"]


def test_a_fixture_outside_the_project_through_a_link_is_refused(
    api: Served, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((project / FIXTURE).read_text(), encoding="utf-8")
    (project / "fixtures" / "link.yaml").symlink_to(outside)
    response = api.execute(runbook_id="srv-greet", fixture="fixtures/link.yaml")
    assert response.status_code == 400
    assert "outside the project" in response.json()["error"]


def test_an_invalid_runbook_lists_its_diagnostics(api: Served) -> None:
    response = api.execute(runbook_id="srv-broken")
    assert response.status_code == 422
    assert any("nowhere" in line for line in response.json()["diagnostics"])


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "request body is empty"),
        (b"{not json", "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object, not an array"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api: Served, content: bytes, error: str) -> None:
    response = api.client.post(
        "/api/runbooks/execute", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error in response.json()["error"]


def test_unknown_paths_and_methods_are_json_errors(api: Served) -> None:
    missing = api.client.get("/api/nothing")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    wrong = api.client.get("/api/executions/x/replay")
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_many_concurrent_executions_all_succeed_and_are_all_recorded(
    project: Path,
) -> None:
    config = config_for(project, max_concurrent=3)

    async def many(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=BEARER) as client:
            body = {"runbook_id": "srv-greet", "fixture": FIXTURE, "inputs": {}}
            return await asyncio.gather(
                *(client.post("/api/runbooks/execute", json=body) for _ in range(24))
            )

    with serving(config) as api:
        responses = asyncio.run(many(api.url))
    assert [r.status_code for r in responses] == [200] * 24
    assert {r.json()["status"] for r in responses} == {"success"}
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 24
    store = open_store(config.db)
    assert all(get_run(store, i) is not None for i in ids)


# Reading and replaying --------------------------------------------------------------------


def test_an_unknown_execution_is_a_404(api: Served) -> None:
    for path in ("/api/executions/nope", "/api/executions/nope/events"):
        response = api.client.get(path)
        assert (response.status_code, response.json()) == (404, {"error": "no execution 'nope'"})
    response = api.client.post("/api/executions/nope/replay")
    assert response.status_code == 404


def test_replays_an_execution_and_records_the_verdict(api: Served) -> None:
    original = greet(api, inputs={"times": 2}).json()
    response = api.client.post(
        f"/api/executions/{original['id']}/replay", headers={"X-RB-Actor": "auditor"}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["verified"] is True
    assert (data["status"], data["world"], data["replay_of"]) == (
        "success",
        "replay",
        original["id"],
    )
    assert data["actor"] == "api-token"  # the token's identity, not the header's claim
    assert data["replay"]["verified"] is True
    assert [s["matches"] for s in data["replay"]["steps"]] == [True]
    # The verdict stays with the replay's record.
    assert api.client.get(f"/api/executions/{data['id']}").json()["replay"] == data["replay"]


# Auth, health, metrics ------------------------------------------------------------------------


def test_with_a_token_every_endpoint_but_health_needs_it(project: Path) -> None:
    token = "t0ken-a81f"
    with serving(config_for(project, token=token), headers={}) as api:
        for method, path in [
            ("GET", "/api/runbooks"),
            ("GET", "/api/runbooks/srv-greet"),
            ("POST", "/api/runbooks/execute"),
            ("GET", "/api/executions/x"),
            ("GET", "/metrics"),
            ("POST", "/graphql"),
        ]:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
                response = api.client.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (method, path, headers)
                assert "bearer token" in response.json()["error"]
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert api.client.get("/health/live").status_code == 200
        assert api.client.get("/health/ready").status_code == 200
        good = {"Authorization": f"Bearer {token}"}
        assert api.client.get("/api/runbooks", headers=good).status_code == 200
        response = api.client.post(
            "/api/runbooks/execute",
            json={"runbook_id": "srv-greet", "fixture": FIXTURE},
            headers=good,
        )
        assert response.json()["status"] == "success"


def test_health_live_and_ready(api: Served) -> None:
    assert api.client.get("/health/live").json() == {"status": "live"}
    ready = api.client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_ready_is_503_while_the_database_is_down(project: Path) -> None:
    db = f"postgresql://rb:db-pass-7e1d@127.0.0.1:{closed_port()}/rb"
    with serving(config_for(project, db=db)) as api:
        assert api.client.get("/health/live").status_code == 200
        ready = api.client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert "cannot reach database" in ready.json()["error"]
        executed = greet(api)
        assert executed.status_code == 503
        for response in (ready, executed):
            assert "db-pass-7e1d" not in response.text


def test_metrics_count_executions_and_time_steps(api: Served) -> None:
    greet(api)
    greet(api, inputs={"path": "/broken"})
    text = api.client.get("/metrics").text
    labels = 'runbook="srv-greet",status="{}",world="fixture"'
    assert f"rb_executions_total{{{labels.format('success')}}} 1.0" in text
    assert f"rb_executions_total{{{labels.format('failure')}}} 1.0" in text
    assert "rb_executions_in_progress 0.0" in text
    assert (
        'rb_step_duration_seconds_bucket{le="0.25",runbook="srv-greet",status="succeeded",'
        'step="greet",world="fixture"} 1.0'
    ) in text
    assert 'rb_execution_duration_seconds_count{runbook="srv-greet",world="fixture"} 2.0' in text
