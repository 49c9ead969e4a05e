"""POST /api/executions/{id}/approvals and POST /api/events on a real server and store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rb.store.database import Store, open_store
from rb.store.inbox import StoreInbox

from .rb_server import API_TOKEN, BEARER, Served, bearer_for, config_for, serving
from .test_waits import EVENT_INPUTS, TWO_OF_THREE
from .waits_helpers import new_execution, park, run_step


@pytest.fixture
def served(project: Path, store_url: str) -> Iterator[tuple[Served, Store]]:
    store = open_store(store_url)
    with serving(config_for(project, db=store_url, token=API_TOKEN), headers=BEARER) as api:
        yield api, store
    store.dispose()


def _parked(store: Store) -> str:
    execution_id = new_execution(store, actor="olivia")
    parked = run_step(store, execution_id, "approval", TWO_OF_THREE, "approve")
    park(store, execution_id, parked)
    return execution_id


def test_an_approval_over_the_api_is_recorded_under_the_tokens_name(
    served: tuple[Served, Store],
) -> None:
    api, store = served
    execution_id = _parked(store)
    response = api.client.post(
        f"/api/executions/{execution_id}/approvals",
        json={"decision": "approve", "comment": "ok"},
        headers={**bearer_for(store, "alice"), "X-RB-Actor": "mallory"},  # the header: no effect
    )
    assert response.status_code == 202, response.text
    assert response.json() == {
        "execution_id": execution_id,
        "step": "approve",
        "by": "alice",
        "complete": False,
        "resumed": False,
        "status": None,
        "note": "decision recorded; 1 more needed",
    }
    (decision,) = StoreInbox(store).decisions(execution_id, "approve")
    assert (decision.actor, decision.decision, decision.comment) == ("alice", "approve", "ok")


@pytest.mark.parametrize(
    ("body", "actor", "status", "error"),
    [
        ({"decision": "approve"}, "olivia", 409, "olivia started this run"),
        ({"decision": "approve"}, "mallory", 409, "mallory is not among the approvers"),
        ({"decision": "maybe"}, "alice", 400, "decision must be 'approve' or 'reject'"),
        ({"decision": "approve", "who": "x"}, "alice", 400, "unknown field 'who'"),
        ({"decision": "approve", "step": "nope"}, "alice", 409, "waits for approve, not for step"),
    ],
)
def test_a_refused_decision_is_a_4xx_naming_why(
    served: tuple[Served, Store], body: dict[str, Any], actor: str, status: int, error: str
) -> None:
    api, store = served
    execution_id = _parked(store)
    response = api.client.post(
        f"/api/executions/{execution_id}/approvals", json=body, headers=bearer_for(store, actor)
    )
    assert response.status_code == status, response.text
    assert error in response.json()["error"]


def test_a_decision_on_an_unknown_execution_is_a_404(served: tuple[Served, Store]) -> None:
    api, _ = served
    response = api.client.post("/api/executions/nope/approvals", json={"decision": "reject"})
    assert response.status_code == 404
    assert response.json()["error"].startswith("no execution 'nope'")


def test_the_api_needs_the_token(served: tuple[Served, Store]) -> None:
    api, store = served
    execution_id = _parked(store)
    response = api.client.post(
        f"/api/executions/{execution_id}/approvals",
        json={"decision": "approve"},
        headers={"Authorization": "Bearer wrong"},
    )
    assert response.status_code == 401
    assert StoreInbox(store).decisions(execution_id, "approve") == ()


def test_an_event_sent_over_the_api_is_kept_for_the_step(served: tuple[Served, Store]) -> None:
    api, store = served
    response = api.client.post(
        "/api/events",
        json={"name": "replica-promoted", "key": "orders-pg", "data": {"host": "o2"}},
    )
    assert response.status_code == 202, response.text
    assert response.json()["note"] == "event kept for 86400s for a step to take"
    taken = run_step(store, new_execution(store), "wait_event", EVENT_INPUTS, "promoted")
    assert taken["payload"] == {"host": "o2"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"key": "k"}, "name must be a non-empty string"),
        ({"name": "n", "key": True}, "key must be a non-empty string or a number"),
        ({"name": "n", "key": "k", "keep_seconds": -1}, "keep_seconds must be"),
    ],
)
def test_a_bad_event_is_a_400(
    served: tuple[Served, Store], body: dict[str, Any], error: str
) -> None:
    api, _ = served
    response = api.client.post("/api/events", json=body)
    assert response.status_code == 400
    assert error in response.json()["error"]


DECIDE = """
mutation ($id: ID!, $decision: String!, $comment: String) {
  decideApproval(executionId: $id, decision: $decision, comment: $comment) {
    executionId step by complete resumed note
  }
}
"""


def test_graphql_decides_an_approval_and_refuses_self_approval(
    served: tuple[Served, Store],
) -> None:
    api, store = served
    execution_id = _parked(store)
    variables = {"id": execution_id, "decision": "approve", "comment": "ok"}
    data = api.client.post(
        "/graphql", json={"query": DECIDE, "variables": variables}, headers=bearer_for(store, "bob")
    ).json()
    assert data["data"]["decideApproval"] == {
        "executionId": execution_id,
        "step": "approve",
        "by": "bob",
        "complete": False,
        "resumed": False,
        "note": "decision recorded; 1 more needed",
    }
    refused = api.client.post(
        "/graphql",
        json={"query": DECIDE, "variables": {"id": execution_id, "decision": "reject"}},
        headers=bearer_for(store, "olivia"),
    ).json()
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "CONFLICT"
    assert "olivia started this run" in error["message"]


def test_graphql_sends_an_event(served: tuple[Served, Store]) -> None:
    api, store = served
    data = api.graphql(
        'mutation { sendEvent(name: "replica-promoted", key: "orders-pg", data: {host: "o2"}) '
        "{ executionId note } }"
    )
    assert data["data"]["sendEvent"] == {
        "executionId": None,
        "note": "event kept for 86400s for a step to take",
    }
    taken = run_step(store, new_execution(store), "wait_event", EVENT_INPUTS, "promoted")
    assert taken["payload"] == {"host": "o2"}


def test_an_approval_over_the_api_resumes_the_parked_run_in_the_worker_pool(
    served: tuple[Served, Store], tmp_path: Path, store_url: str
) -> None:
    from .test_waits_resume import APPROVAL_RUNBOOK, _start

    api, store = served
    marker = tmp_path / "acted"
    execution_id = _start(tmp_path, APPROVAL_RUNBOOK, store_url, f"marker={marker}")
    url = f"/api/executions/{execution_id}/approvals"
    first = api.client.post(url, json={"decision": "approve"}, headers=bearer_for(store, "alice"))
    assert first.status_code == 202 and first.json()["resumed"] is False
    second = api.client.post(
        url, json={"decision": "approve", "wait": True}, headers=bearer_for(store, "bob")
    )
    assert second.status_code == 202, second.text
    assert (second.json()["resumed"], second.json()["status"]) == (True, "success")
    assert marker.exists()  # the step after the approval ran
    shown = api.client.get(f"/api/executions/{execution_id}").json()
    assert shown["status"] == "success" and shown["run_attempt"] == 2


def test_answers_need_a_role_that_allows_them(served: tuple[Served, Store]) -> None:
    api, store = served
    execution_id = _parked(store)
    decided = api.client.post(
        f"/api/executions/{execution_id}/approvals",
        json={"decision": "approve"},
        headers=bearer_for(store, "oscar", "operator"),
    )
    assert decided.status_code == 403
    assert decided.json()["error"] == "oscar has role operator; this needs approver or higher"
    sent = api.client.post(
        "/api/events", json={"name": "n", "key": "k"}, headers=bearer_for(store, "val", "viewer")
    )
    assert sent.status_code == 403 and "needs operator" in sent.json()["error"]
    assert StoreInbox(store).decisions(execution_id, "approve") == ()


def test_without_wait_the_answer_comes_before_the_resumed_run_ends(
    served: tuple[Served, Store], tmp_path: Path, store_url: str
) -> None:
    from .test_waits_resume import APPROVAL_RUNBOOK, _start

    api, store = served
    execution_id = _start(tmp_path, APPROVAL_RUNBOOK, store_url, f"marker={tmp_path / 'm'}")
    url = f"/api/executions/{execution_id}/approvals"
    for who in ("alice", "bob"):
        answer = api.client.post(url, json={"decision": "approve"}, headers=bearer_for(store, who))
        assert answer.status_code == 202, answer.text
    assert answer.json()["resumed"] is True and answer.json()["status"] is None
    assert "in the background" in answer.json()["note"]
