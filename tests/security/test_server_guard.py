"""`rb serve` refuses what a web page could make a browser send: a body that is not
JSON, a foreign Origin, a foreign Host (DNS rebinding), and any request without a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..rb_server import FIXTURE, Served, config_for, serving
from ..servers import TestServer

GREET_BODY = '{"runbook_id": "srv-greet", "inputs": {}, "fixture": "fixtures/greet.yaml"}'


@pytest.fixture
def open_api(project: Path):
    """A default server (RB_API_TOKEN set, and sent by the client)."""
    with serving(config_for(project)) as served:
        yield served


def port_of(api: Served) -> int:
    return int(api.url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
@pytest.mark.parametrize("path", ["/api/runbooks/execute", "/graphql"])
def test_a_body_that_is_not_declared_json_is_refused_with_415(
    open_api: Served, content_type: str | None, path: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = open_api.client.post(path, content=GREET_BODY, headers=headers)
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["error"]


def test_json_with_a_charset_is_accepted(open_api: Served) -> None:
    response = open_api.client.post(
        "/api/runbooks/execute",
        content=GREET_BODY,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "success"


def test_the_issues_forged_request_starts_nothing(
    open_api: Served, http_server: TestServer
) -> None:
    body = f'{{"runbook_id": "srv-greet", "inputs": {{"base_url": "{http_server.base_url}"}}}}'
    response = open_api.client.post(
        "/api/runbooks/execute",
        content=body,
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert http_server.requests == []  # nothing went out


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_is_refused_with_403(open_api: Served, origin: str) -> None:
    response = open_api.client.post(
        "/api/runbooks/execute", content=GREET_BODY, headers=_json({"Origin": origin})
    )
    assert response.status_code == 403
    assert "cross-origin" in response.json()["error"]
    assert open_api.client.get("/api/runbooks", headers={"Origin": origin}).status_code == 403


def test_the_servers_own_origin_is_accepted(open_api: Served) -> None:
    response = open_api.client.post(
        "/api/runbooks/execute", content=GREET_BODY, headers=_json({"Origin": open_api.url})
    )
    assert response.status_code == 200


def test_a_foreign_host_is_refused_so_dns_rebinding_reaches_nothing(open_api: Served) -> None:
    port = port_of(open_api)
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}"):
        response = open_api.client.get("/api/runbooks", headers={"Host": host})
        assert response.status_code == 403, host
        assert "--allowed-host" in response.json()["error"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert open_api.client.get("/api/runbooks", headers={"Host": host}).status_code == 200
    # Probes answer whatever name a load balancer uses.
    live = open_api.client.get("/health/live", headers={"Host": "pod-7.internal"})
    assert live.status_code == 200


def test_an_allowed_host_is_accepted_behind_a_proxy(project: Path) -> None:
    config = config_for(project, allowed_hosts=("rb.example.com",))
    with serving(config) as api:
        headers = {"Host": "rb.example.com", "Origin": "https://rb.example.com"}
        assert api.client.get("/api/runbooks", headers=headers).status_code == 200
        evil = api.client.get("/api/runbooks", headers={"Host": "evil.example"})
        assert evil.status_code == 403


def test_a_server_without_any_token_refuses_every_run(
    project: Path, http_server: TestServer
) -> None:
    # No RB_API_TOKEN and no token in the store: nobody can be authenticated,
    # so live runs, fixture runs and GraphQL are all refused; probes answer.
    with serving(config_for(project, token=None), headers={}) as api:
        live = api.execute(runbook_id="srv-greet", inputs={"base_url": http_server.base_url})
        fixture = api.execute(runbook_id="srv-greet", fixture=FIXTURE)
        graphql = api.client.post("/graphql", json={"query": "{ __typename }"})
        ready = api.client.get("/health/ready")
    for refused in (live, fixture, graphql):
        assert refused.status_code == 401
        assert "rb tokens create" in refused.json()["error"]
    assert http_server.requests == []
    assert ready.status_code == 200


def _json(headers: dict[str, str]) -> dict[str, str]:
    return {"Content-Type": "application/json", **headers}


@pytest.mark.parametrize("path", ["/graphql", "/api/runbooks/execute"])
@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_1_mib_is_refused_with_413(api: Served, path: str, chunked: bool) -> None:
    body = b'{"query": "' + b" " * (2 << 20) + b'{ __typename }"}'

    def chunks() -> Iterator[bytes]:
        step = 64 << 10
        for i in range(0, len(body), step):
            yield body[i : i + step]

    response = api.client.post(
        path,
        content=chunks() if chunked else body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "over 1048576 bytes" in response.json()["error"]
