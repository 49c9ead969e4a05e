"""A GraphQL query cannot make `rb serve` work without bound: aliases, fields
(fragments expanded) and depth are limited, and a query over a limit is a 400
before any resolver runs. GraphiQL (which loads scripts from a CDN) is off
unless asked for."""

from __future__ import annotations

from pathlib import Path

from graphql import get_introspection_query

from rb.server.graphql_limits import MAX_ALIASES, MAX_DEPTH

from ..rb_server import Served, config_for, serving


def post(api: Served, query: str) -> tuple[int, dict[str, object]]:
    response = api.client.post("/graphql", json={"query": query})
    return response.status_code, response.json()


def first_error(data: dict[str, object]) -> str:
    errors = data["errors"]
    assert isinstance(errors, list)
    return str(errors[0]["message"])


def test_5000_aliases_are_refused_with_a_400(api: Served) -> None:
    aliases = " ".join(f'a{i}: runbook(id: "srv-greet") {{ id }}' for i in range(5000))
    status, data = post(api, f"{{ {aliases} }}")
    assert status == 400
    assert "data" not in data or data["data"] is None
    assert f"more than {MAX_ALIASES} aliases" in first_error(data)


def test_aliases_up_to_the_limit_are_answered(api: Served) -> None:
    aliases = " ".join(f'a{i}: runbook(id: "srv-greet") {{ id }}' for i in range(MAX_ALIASES))
    status, data = post(api, f"{{ {aliases} }}")
    assert status == 200, data
    assert isinstance(data["data"], dict) and len(data["data"]) == MAX_ALIASES


def test_fragments_that_expand_exponentially_are_refused(api: Served) -> None:
    # Each fragment spreads the previous one twice under aliases: 2**20 fields.
    fragments = ["fragment f0 on Runbook { id }"]
    for i in range(1, 21):
        fragments.append(f"fragment f{i} on Runbook {{ ...f{i - 1} ...f{i - 1} name }}")
    query = '{ runbook(id: "srv-greet") { ...f20 } } ' + " ".join(fragments)
    status, data = post(api, query)
    assert status == 400
    assert "fields (fragments expanded)" in first_error(data)


def test_too_deep_a_query_is_refused(api: Served) -> None:
    inner = "name"
    for _ in range(MAX_DEPTH + 1):
        inner = f"ofType {{ {inner} }}"
    status, data = post(api, f'{{ __type(name: "RunbookExecution") {{ {inner} }} }}')
    assert status == 400
    assert f"more than {MAX_DEPTH} levels" in first_error(data)


def test_the_introspection_query_of_graphql_tools_still_works(api: Served) -> None:
    status, data = post(api, get_introspection_query(descriptions=True))
    assert status == 200, data
    assert "__schema" in data["data"]  # type: ignore[operator]


def test_graphiql_is_off_unless_asked_for(api: Served, project: Path) -> None:
    page = api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 405
    assert "cdn" not in page.text.lower()
    with serving(config_for(project, graphiql=True)) as explorer:
        shown = explorer.client.get("/graphql", headers={"Accept": "text/html"})
        assert shown.status_code == 200 and "graphiql" in shown.text.lower()
