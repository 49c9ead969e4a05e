"""A stored run comes back as a typed Execution whose JSON document reads back equal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rb.service.request import Recording
from rb.service.runner import execute, fixture_request
from rb.store.database import open_store
from rb.store.queries import get_run, list_runs
from rb.store.records import Exchange, Execution, StepLog
from rb.world.fixture_format import from_data

from .engine_helpers import runbook

FETCH = """\
id: fetch
name: Fetch
version: "2"
legal_basis: a reason
steps:
  - id: get
    type: data_fetch
    inputs: {source_url: "http://api.test/items"}
    outputs: {count: "$.count"}
  - {id: after, type: wait, depends_on: [get], inputs: {seconds: 1}}
  - {id: never, type: wait, depends_on: [get], when: "${false}", inputs: {seconds: 1}}
"""
FIXTURE = {
    "http": [
        {
            "request": {"method": "GET", "url": "http://api.test/items"},
            "response": {"status": 200, "json": {"count": 3}},
        }
    ]
}


def recorded(store_url: str) -> Execution:
    request = fixture_request(
        runbook(FETCH), from_data(FIXTURE), recording=Recording(db=store_url), actor="ci"
    )
    ran = execute(request)
    assert ran.result.status == "success" and ran.execution_id is not None
    found = get_run(open_store(store_url), ran.execution_id)
    assert found is not None
    return found


def test_a_recorded_run_reads_back_as_typed_records(store_url: str) -> None:
    run = recorded(store_url)
    assert (run.runbook_id, run.runbook_version, run.status) == ("fetch", "2", "success")
    assert (run.world, run.kind, run.actor, run.kpis_breached) == ("fixture", "test", "ci", [])
    assert run.started_at.tzinfo is not None and run.definition == FETCH
    by_id = {s.step_id: s for s in run.steps}
    assert by_id["get"].outputs == {"count": 3} and by_id["get"].attempts == 1
    assert by_id["never"].status == "skipped" and by_id["never"].skip_reason
    assert run.exchanges is not None
    assert [(e.kind, e.step_id) for e in run.exchanges if e.kind == "http"] == [("http", "get")]


def test_the_document_of_a_recorded_run_reads_back_equal(store_url: str) -> None:
    run = recorded(store_url)
    text = json.dumps(run.to_json())  # through real JSON text, as a client gets it
    assert Execution.from_json(json.loads(text)) == run
    without = get_run(open_store(store_url), run.id, with_exchanges=False)
    assert without is not None and "exchanges" not in without.to_json()
    assert Execution.from_json(json.loads(json.dumps(without.to_json()))) == without


def test_a_run_still_running_reads_back_equal_with_its_empty_fields() -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run = Execution(
        id="0" * 36,
        runbook_id="rb",
        runbook_version="1",
        status="running",
        world="replay",
        actor="me",
        started_at=started,
        recorded_at=started,
        definition_path="rb.yaml",
        definition_hash="ab",
        definition="id: rb\n",
        replay_of="1" * 36,
        steps=(StepLog("a", 1, "failed", 2, started, started, 0.0, error="boom"),),
        exchanges=(Exchange(1, "a", 1, "http", {"method": "GET"}, error={"kind": "timeout"}),),
    )
    data = json.loads(json.dumps(run.to_json()))
    assert (data["kind"], data["error"], data["completed_at"]) == ("replay of 11111111", None, None)
    assert Execution.from_json(data) == run


def test_a_list_of_runs_is_typed_newest_first(store_url: str) -> None:
    first, second = recorded(store_url), recorded(store_url)
    listed = list_runs(open_store(store_url))
    assert [r.id for r in listed] == [second.id, first.id]
    assert all(r.steps == () and r.exchanges is None for r in listed)
