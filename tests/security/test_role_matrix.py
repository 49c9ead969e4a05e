"""Every endpoint of `rb serve` by every kind of caller: no token, a bad one, a
revoked one, and one token per role (docs/security.md, "Identities and roles").

The routes are read from the Starlette app and the operations from the GraphQL
schema, so an endpoint added without an entry in MATRIX fails here. Each
permitted call is made against real state (a recorded fixture run, a run
parked at an approval step) so that a 2xx is the action really done, and a
refused one against the same state, so a 403 is the role and nothing else.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema
from starlette.routing import Route

from rb.server.app import create_app
from rb.server.auth import is_web_path
from rb.server.sdl import SDL
from rb.service.access import role_allows
from rb.store.audit import records
from rb.store.database import Store, open_store
from rb.store.tokens import create, revoke

from ..rb_server import API_TOKEN, FIXTURE, Served, config_for, make_project, serving

APPROVE = """\
id: mx-approve
name: Approve
version: "1.0.0"
legal_basis: Matrix policy 1
steps:
  - id: ask
    type: approval
    inputs: {message: "Go?"}
"""

RESTRICTED = """\
id: mx-restricted
name: Restricted
version: "1.0.0"
legal_basis: Restricted policy 2
access:
  run: [alice, dbas]
steps:
  - id: pause
    type: wait
    inputs: {seconds: 0}
"""

GUARDED = """\
id: mx-guarded
name: Guarded approval
version: "1.0.0"
access:
  approve: [leads]
environments:
  prod:
    access: {approve: [sre]}
steps:
  - id: ask
    type: approval
    inputs: {message: "Go?"}
"""

SLOW = """\
id: mx-slow
name: Slow
version: "1.0.0"
steps:
  - id: linger
    type: wait
    inputs: {seconds: 600}
"""

ROLES = ("viewer", "operator", "approver", "admin")
CALLERS = ("none", "bad", "revoked", *ROLES)
BAD_TOKEN = "rb_0123456789ab_not-a-real-secret-but-long-enough-to-look-like-one"


@dataclass
class World:
    """A server with one token per role, and what calls need."""

    api: Served
    project: Path
    store: Store
    headers: dict[str, dict[str, str]]  # caller -> headers
    fixture_run: str  # a recorded, finished fixture execution
    counter: Iterator[int]
    started: list[str]  # runs still running, cancelled at the end

    def draft(self) -> str:
        """A fresh runbook with a draft definition (published by api-token), by id."""
        runbook_id = f"mx-def-{next(self.counter)}"
        text = f'id: {runbook_id}\nname: Def\nversion: "1.0.0"\n' + SLOW.split("\n", 3)[3]
        (self.project / "runbooks" / f"{runbook_id}.yaml").write_text(text, encoding="utf-8")
        made = self.api.client.post(
            "/api/definitions", json={"runbook_id": runbook_id}, headers=BOOTSTRAP
        )
        assert made.status_code == 201, made.text
        return runbook_id

    def running(self) -> str:
        """A live run running in this server (in a 10-minute wait step, so a pause
        lets it go on running: one serves every caller). Cancelled at the end."""
        if not self.started:
            response = self.api.client.post(
                "/api/runbooks/execute",
                json={"runbook_id": "mx-slow", "wait": False},
                headers=BOOTSTRAP,
            )
            assert response.status_code == 202, response.text
            self.started.append(response.json()["id"])
        return self.started[0]

    def parked(self) -> str:
        """A fresh live run parked at its approval step (started by api-token)."""
        response = self.api.client.post(
            "/api/runbooks/execute", json={"runbook_id": "mx-approve"}, headers=BOOTSTRAP
        )
        assert response.json()["status"] == "waiting", response.text
        return str(response.json()["id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    project = make_project(tmp_path_factory.mktemp("matrix") / "project")
    (project / "runbooks" / "approve.yaml").write_text(APPROVE, encoding="utf-8")
    (project / "runbooks" / "restricted.yaml").write_text(RESTRICTED, encoding="utf-8")
    (project / "runbooks" / "slow.yaml").write_text(SLOW, encoding="utf-8")
    (project / "runbooks" / "guarded.yaml").write_text(GUARDED, encoding="utf-8")
    config = config_for(project, graphiql=True)
    store = open_store(config.db)
    headers: dict[str, dict[str, str]] = {"none": {}, "bad": _bearer(BAD_TOKEN)}
    for role in ROLES:
        headers[role] = _bearer(create(store, role, role, (), created_by="tests")[1])
    headers["revoked"] = _bearer(create(store, "gone", "admin", (), created_by="tests")[1])
    revoke(store, "gone", revoked_by="tests")
    # A client without a token of its own: each call sends its caller's.
    with serving(config, headers={}) as api:
        ran = api.client.post(
            "/api/runbooks/execute",
            json={"runbook_id": "srv-greet", "fixture": FIXTURE},
            headers=BOOTSTRAP,
        )
        assert ran.status_code == 200, ran.text
        published = api.client.post(
            "/api/definitions", json={"runbook_id": "srv-greet"}, headers=BOOTSTRAP
        )
        assert published.status_code == 201, published.text
        world = World(api, project, store, headers, ran.json()["id"], itertools.count(), [])
        yield world
        for execution_id in world.started:  # else the server waits for them to end
            api.client.post(f"/api/executions/{execution_id}/cancel", headers=BOOTSTRAP)
    store.dispose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BOOTSTRAP = _bearer(API_TOKEN)  # RB_API_TOKEN: api-token, admin


Call = Callable[[World, dict[str, str]], httpx.Response]


def _post(path: Callable[[World], str], body: Callable[[World], Any] | None = None) -> Call:
    def call(w: World, headers: dict[str, str]) -> httpx.Response:
        sent = body(w) if body is not None else None
        return w.api.client.post(path(w), json=sent, headers=headers)

    return call


def _get(path: Callable[[World], str]) -> Call:
    return lambda w, headers: w.api.client.get(path(w), headers=headers)


def _event(w: World) -> dict[str, Any]:
    return {"name": "matrix", "key": f"k{next(w.counter)}"}


# (method, path) -> (permission or None for open, the call with a caller's headers).
MATRIX: dict[tuple[str, str], tuple[str | None, Call]] = {
    ("GET", "/health/live"): (None, _get(lambda w: "/health/live")),
    ("GET", "/health/ready"): (None, _get(lambda w: "/health/ready")),
    ("GET", "/metrics"): ("view", _get(lambda w: "/metrics")),
    ("GET", "/graphql"): ("view", _get(lambda w: "/graphql")),  # the explorer (--graphiql)
    ("POST", "/graphql"): (
        "view",
        _post(lambda w: "/graphql", lambda w: {"query": "{__typename}"}),
    ),
    ("GET", "/api/runbooks"): ("view", _get(lambda w: "/api/runbooks")),
    ("GET", "/api/runbooks/{runbook_id}"): ("view", _get(lambda w: "/api/runbooks/srv-greet")),
    ("POST", "/api/runbooks/execute"): (
        "run",
        _post(
            lambda w: "/api/runbooks/execute",
            lambda w: {"runbook_id": "srv-greet", "fixture": FIXTURE},
        ),
    ),
    ("GET", "/api/executions/{execution_id}"): (
        "view",
        _get(lambda w: f"/api/executions/{w.fixture_run}"),
    ),
    ("GET", "/api/executions/{execution_id}/events"): (
        "view",
        _get(lambda w: f"/api/executions/{w.fixture_run}/events"),
    ),
    ("POST", "/api/executions/{execution_id}/replay"): (
        "run",
        _post(lambda w: f"/api/executions/{w.fixture_run}/replay"),
    ),
    ("POST", "/api/executions/{execution_id}/cancel"): (
        "run",
        _post(lambda w: f"/api/executions/{w.parked()}/cancel", lambda w: {}),
    ),
    ("POST", "/api/executions/{execution_id}/pause"): (
        "run",
        # A parked run is already waiting (409): a run running in the server.
        _post(lambda w: f"/api/executions/{w.running()}/pause", lambda w: {}),
    ),
    ("POST", "/api/executions/{execution_id}/resume"): (
        "run",
        _post(lambda w: f"/api/executions/{w.parked()}/resume", lambda w: {}),
    ),
    ("POST", "/api/executions/{execution_id}/approvals"): (
        "approve",
        _post(
            lambda w: f"/api/executions/{w.parked()}/approvals", lambda w: {"decision": "approve"}
        ),
    ),
    ("POST", "/api/events"): ("run", _post(lambda w: "/api/events", _event)),
    # Definitions (docs/definitions.md): each change on a fresh draft.
    ("POST", "/api/definitions"): (
        "admin",
        _post(lambda w: "/api/definitions", lambda w: {"runbook_id": "srv-greet"}),
    ),
    ("GET", "/api/definitions"): ("view", _get(lambda w: "/api/definitions")),
    ("GET", "/api/definitions/{runbook_id}/{version}"): (
        "view",
        _get(lambda w: "/api/definitions/srv-greet/1"),
    ),
    ("POST", "/api/definitions/{runbook_id}/{version}/approve"): (
        "approve",
        _post(lambda w: f"/api/definitions/{w.draft()}/1/approve"),
    ),
    ("POST", "/api/definitions/{runbook_id}/{version}/deprecate"): (
        "admin",
        _post(lambda w: f"/api/definitions/{w.draft()}/1/deprecate"),
    ),
    ("POST", "/api/runbooks/{runbook_id}/approve"): (
        "approve",
        _post(lambda w: f"/api/runbooks/{w.draft()}/approve"),
    ),
    ("POST", "/api/runbooks/{runbook_id}/deprecate"): (
        "admin",
        _post(lambda w: f"/api/runbooks/{w.draft()}/deprecate"),
    ),
}


GRAPHQL: dict[str, tuple[str, Callable[[World], dict[str, Any]]]] = {
    "runbook": ("view", lambda w: {"query": '{ runbook(id: "srv-greet") { id } }'}),
    "runbookExecution": (
        "view",
        lambda w: {"query": f'{{ runbookExecution(id: "{w.fixture_run}") {{ id }} }}'},
    ),
    "executeRunbook": (
        "run",
        lambda w: {
            "query": "mutation { executeRunbook("
            f'id: "srv-greet", fixture: "{FIXTURE}") {{ id }} }}'
        },
    ),
    "replayExecution": (
        "run",
        lambda w: {
            "query": f'mutation {{ replayExecution(executionId: "{w.fixture_run}") {{ id }} }}'
        },
    ),
    "decideApproval": (
        "approve",
        lambda w: {
            "query": "mutation { decideApproval(executionId: "
            f'"{w.parked()}", decision: "approve") {{ by complete }} }}'
        },
    ),
    "sendEvent": (
        "run",
        lambda w: {
            "query": f'mutation {{ sendEvent(name: "m", key: "g{next(w.counter)}") {{ note }} }}'
        },
    ),
}


def _expected(permission: str | None, caller: str) -> str:
    if permission is None:
        return "ok"
    if caller in ("none", "bad", "revoked"):
        return "401"
    return "ok" if role_allows(caller, permission) else "403"


def _outcome(response: httpx.Response) -> str:
    if 200 <= response.status_code < 300:
        return "ok"
    return str(response.status_code)


def test_the_matrix_covers_every_route_and_graphql_operation(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    app = create_app(config_for(project))
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and not is_web_path(route.path)  # tests/test_webview.py
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert routes == set(MATRIX), "an endpoint without a role matrix entry (or a stale entry)"
    schema = build_schema(SDL)
    assert schema.query_type is not None and schema.mutation_type is not None
    operations = {*schema.query_type.fields, *schema.mutation_type.fields}
    assert operations == set(GRAPHQL), "a GraphQL operation without a role matrix entry"


@pytest.mark.parametrize("endpoint", sorted(MATRIX), ids=" ".join)
def test_each_route_answers_each_caller_as_its_role_allows(
    world: World, endpoint: tuple[str, str]
) -> None:
    permission, call = MATRIX[endpoint]
    got = {caller: _outcome(call(world, world.headers[caller])) for caller in CALLERS}
    assert got == {caller: _expected(permission, caller) for caller in CALLERS}


@pytest.mark.parametrize("operation", sorted(GRAPHQL))
def test_each_graphql_operation_answers_each_caller_as_its_role_allows(
    world: World, operation: str
) -> None:
    permission, body = GRAPHQL[operation]
    got = {}
    for caller in CALLERS:
        response = world.api.client.post(
            "/graphql", json=body(world), headers=world.headers[caller]
        )
        if response.status_code == 401:
            got[caller] = "401"
            continue
        # A refused mutation leaves `data` null, which Ariadne answers with HTTP 400.
        errors = response.json().get("errors")
        got[caller] = str(errors[0]["extensions"]["status"]) if errors else "ok"
    assert got == {caller: _expected(permission, caller) for caller in CALLERS}


def test_a_refusal_says_which_role_is_needed(world: World) -> None:
    response = world.api.client.post(
        "/api/runbooks/execute",
        json={"runbook_id": "srv-greet", "fixture": FIXTURE},
        headers=world.headers["viewer"],
    )
    assert (response.status_code, response.json()) == (
        403,
        {"error": "viewer has role viewer; this needs operator or higher"},
    )
    anonymous = world.api.client.get("/api/runbooks", headers={})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="rb"'
    assert "missing bearer token" in anonymous.json()["error"]


def test_the_actor_header_is_ignored_and_the_trigger_is_audited_under_the_token(
    world: World,
) -> None:
    response = world.api.client.post(
        "/api/runbooks/execute",
        json={"runbook_id": "srv-greet", "fixture": FIXTURE},
        headers={**world.headers["operator"], "X-RB-Actor": "mallory"},
    )
    assert response.status_code == 200, response.text
    execution_id = response.json()["id"]
    assert response.json()["actor"] == "operator"
    (record,) = [r for r in records(world.store) if r.entry.subject == execution_id]
    entry = record.entry
    assert (entry.actor, entry.verified, entry.action) == ("operator", True, "trigger")
    assert entry.origin == "127.0.0.1"
    assert entry.legal_basis == "Test policy 7.1"
    assert entry.evidence == {"execution": f"/api/executions/{execution_id}"}
    assert entry.details == {"runbook": "srv-greet", "world": "fixture"}


def test_api_actions_are_audited_with_the_deciders_name(world: World) -> None:
    parked = world.parked()
    decided = world.api.client.post(
        f"/api/executions/{parked}/approvals",
        json={"decision": "reject", "comment": "not now"},
        headers={**world.headers["approver"], "X-RB-Actor": "mallory"},
    )
    assert decided.status_code == 202, decided.text
    assert decided.json()["by"] == "approver"
    actions = [
        (r.entry.action, r.entry.actor) for r in records(world.store) if r.entry.subject == parked
    ]
    assert actions == [("trigger", "api-token"), ("reject", "approver")]
    reject = [r for r in records(world.store) if r.entry.action == "reject"][-1].entry
    assert reject.legal_basis == "Matrix policy 1"
    assert reject.details == {"step": "ask", "complete": True, "comment": "not now"}


def test_a_runbooks_access_list_refuses_other_tokens_with_the_reason(world: World) -> None:
    alice = _bearer(create(world.store, "alice", "operator", (), created_by="tests")[1])
    dba = _bearer(create(world.store, "dora", "operator", ("dbas",), created_by="tests")[1])
    body = {"runbook_id": "mx-restricted", "fixture": None}
    for allowed in (alice, dba):
        ran = world.api.client.post("/api/runbooks/execute", json=body, headers=allowed)
        assert ran.status_code == 200 and ran.json()["status"] == "success", ran.text
    for caller in ("operator", "admin"):
        refused = world.api.client.post(
            "/api/runbooks/execute", json=body, headers=world.headers[caller]
        )
        assert refused.status_code == 403
        assert refused.json()["error"] == (
            f"runbook mx-restricted lets only alice, dbas run; {caller} is not one of them"
        )
    graphql = world.api.client.post(
        "/graphql",
        json={"query": 'mutation { executeRunbook(id: "mx-restricted") { id } }'},
        headers=world.headers["operator"],
    )
    (error,) = graphql.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "lets only alice, dbas run" in error["message"]


def test_an_unknown_environment_is_a_400(world: World) -> None:
    response = world.api.client.post(
        "/api/runbooks/execute",
        json={"runbook_id": "srv-greet", "fixture": FIXTURE, "environment": "prod"},
        headers=world.headers["operator"],
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "runbook srv-greet has no environment 'prod' (it declares no environments: block)"
    )


def test_a_revoked_token_is_refused_at_the_next_request(world: World) -> None:
    # The matrix server keeps no token cache (tests/rb_server.py: config_for).
    text = create(world.store, "brief", "viewer", (), created_by="tests")[1]
    assert world.api.client.get("/api/runbooks", headers=_bearer(text)).status_code == 200
    revoke(world.store, "brief", revoked_by="tests")
    assert world.api.client.get("/api/runbooks", headers=_bearer(text)).status_code == 401


def test_the_bootstrap_token_is_admin(world: World) -> None:
    response = world.api.client.post(
        "/api/runbooks/execute",
        json={"runbook_id": "srv-greet", "fixture": FIXTURE},
        headers=BOOTSTRAP,
    )
    assert response.json()["actor"] == "api-token"


def test_a_runbooks_approve_list_refuses_other_approvers(world: World) -> None:
    started = world.api.client.post(
        "/api/runbooks/execute", json={"runbook_id": "mx-guarded"}, headers=BOOTSTRAP
    )
    assert started.json()["status"] == "waiting", started.text
    url = f"/api/executions/{started.json()['id']}/approvals"
    refused = world.api.client.post(
        url, json={"decision": "approve"}, headers=world.headers["approver"]
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "runbook mx-guarded lets only leads approve; approver is not one of them"
    )
    lead = _bearer(create(world.store, "lena", "approver", ("leads",), created_by="tests")[1])
    decided = world.api.client.post(url, json={"decision": "approve"}, headers=lead)
    assert decided.status_code == 202, decided.text
    assert (decided.json()["by"], decided.json()["complete"]) == ("lena", True)


def test_a_run_for_an_environment_is_approved_by_that_environments_list(world: World) -> None:
    started = world.api.client.post(
        "/api/runbooks/execute",
        json={"runbook_id": "mx-guarded", "environment": "prod"},
        headers=BOOTSTRAP,
    )
    assert started.json()["status"] == "waiting", started.text
    url = f"/api/executions/{started.json()['id']}/approvals"
    lead = _bearer(create(world.store, "lars", "approver", ("leads",), created_by="tests")[1])
    refused = world.api.client.post(url, json={"decision": "approve"}, headers=lead)
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "runbook mx-guarded lets only sre approve in environment prod; lars is not one of them"
    )
    sre = _bearer(create(world.store, "sam", "approver", ("sre",), created_by="tests")[1])
    decided = world.api.client.post(url, json={"decision": "approve"}, headers=sre)
    assert decided.status_code == 202, decided.text
