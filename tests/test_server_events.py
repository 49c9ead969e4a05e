"""Server-Sent Events of executions, followed while they run.

The running execution is a live run whose one step calls the test HTTP
server's /slow route, which answers only when the test releases it: the
test decides when the run may finish, so nothing depends on timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .rb_server import FIXTURE, Served, config_for, serving, sse_events
from .servers import TestServer


def start_slow_run(api: Served, http_server: TestServer) -> str:
    response = api.execute(
        runbook_id="srv-greet",
        inputs={"base_url": http_server.base_url, "path": "/slow"},
        wait=False,
    )
    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "running"
    assert response.headers["location"] == f"/api/executions/{data['id']}"
    assert data["links"]["events"] == f"/api/executions/{data['id']}/events"
    return str(data["id"])


def until(events: Iterator[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Events up to and including the first named `name`."""
    seen = []
    for event in events:
        seen.append(event)
        if event["event"] == name:
            return seen
    raise AssertionError(f"the stream ended before {name!r}: {seen}")


def test_streams_a_running_execution_until_it_ends(api: Served, http_server: TestServer) -> None:
    execution_id = start_slow_run(api, http_server)
    with api.client.stream("GET", f"/api/executions/{execution_id}/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.iter_lines())
        first = until(events, "step_started")

        # The run now waits on /slow, which answers only when released.
        running = api.client.get(f"/api/executions/{execution_id}").json()
        assert (running["status"], running["step_logs"]) == ("running", [])
        replay = api.client.post(f"/api/executions/{execution_id}/replay")
        assert replay.status_code == 409
        assert "still running" in replay.json()["error"]
        # Neither the event loop nor the other workers are held up meanwhile.
        assert api.client.get("/health/live").status_code == 200
        other = api.execute(runbook_id="srv-greet", fixture=FIXTURE)
        assert other.json()["status"] == "success"

        http_server.state.release.set()
        rest = until(events, "end")

    names = [e["event"] for e in first + rest]
    assert names == ["run_started", "step_started", "step_succeeded", "run_finished", "end"]
    assert [e.get("id") for e in first + rest] == ["1", "2", "3", "4", None]
    started = first[0]["data"]
    assert (started["type"], started["execution_id"], started["world"]) == (
        "run_started",
        execution_id,
        "live",
    )
    succeeded = rest[0]["data"]
    assert succeeded["step_id"] == "greet"
    assert succeeded["outputs"]["said"] == {"slow": "released"}
    assert rest[-1]["data"] == {"id": execution_id, "status": "success"}
    done = api.client.get(f"/api/executions/{execution_id}").json()
    assert done["status"] == "success"


def test_a_reconnecting_client_gets_the_events_after_the_last_it_saw(
    api: Served, http_server: TestServer
) -> None:
    http_server.state.release.set()  # this run need not wait
    execution_id = start_slow_run(api, http_server)
    path = f"/api/executions/{execution_id}/events"
    with api.client.stream("GET", path) as stream:
        everything = list(sse_events(stream.iter_lines()))
    with api.client.stream("GET", path, headers={"Last-Event-ID": "2"}) as stream:
        after = list(sse_events(stream.iter_lines()))
    assert [e["event"] for e in everything][-1] == "end"
    assert after == everything[2:]


def test_a_fast_run_started_without_waiting_streams_from_the_start(api: Served) -> None:
    response = api.execute(runbook_id="srv-greet", fixture=FIXTURE, wait=False)
    assert response.status_code == 202
    execution_id = response.json()["id"]
    with api.client.stream("GET", f"/api/executions/{execution_id}/events") as stream:
        events = list(sse_events(stream.iter_lines()))
    assert [e["event"] for e in events] == [
        "run_started",
        "step_started",
        "step_succeeded",
        "run_finished",
        "end",
    ]
    assert events[-1]["data"]["status"] == "success"


def test_an_execution_another_server_ran_streams_as_its_record(project: Path) -> None:
    config = config_for(project)
    with serving(config) as first:
        recorded = first.execute(runbook_id="srv-greet", fixture=FIXTURE).json()
    with serving(config) as second:
        path = f"/api/executions/{recorded['id']}/events"
        with second.client.stream("GET", path) as stream:
            events = list(sse_events(stream.iter_lines()))
    assert [e["event"] for e in events] == ["execution", "end"]
    assert events[0]["data"] == recorded
    assert events[1]["data"] == {"id": recorded["id"], "status": "success"}
