"""GraphQL at /graphql: the seed's Runbook and RunbookExecution types, and its
executeRunbook and replayExecution mutations."""

from __future__ import annotations

import pytest

from rb.server.views import GRAPHQL_STATUS

from .rb_server import FIXTURE, Served
from .servers import TestServer

EXECUTION_FIELDS = """
  id runbookId runbookVersion status startedAt completedAt kpis world actor error
  durationSeconds replayOf replay
  stepLogs { stepId status attempts startedAt completedAt durationSeconds summary error
             skipReason inputs outputs }
"""
EXECUTE = f"""
mutation($id: ID!, $inputs: JSON, $fixture: String) {{
  executeRunbook(id: $id, inputs: $inputs, fixture: $fixture) {{ {EXECUTION_FIELDS} }}
}}
"""


def test_queries_a_runbook_with_its_steps(api: Served) -> None:
    result = api.graphql(
        """query($id: ID!) { runbook(id: $id) {
             id name version owner legalBasis
             steps { id type description dependsOn onFailure timeoutSeconds inputs } } }""",
        id="srv-greet",
    )
    assert result == {
        "data": {
            "runbook": {
                "id": "srv-greet",
                "name": "Greeting",
                "version": "1.0.0",
                "owner": "platform-team",
                "legalBasis": "Test policy 7.1",
                "steps": [
                    {
                        "id": "greet",
                        "type": "data_fetch",
                        "description": "",
                        "dependsOn": [],
                        "onFailure": "abort",
                        "timeoutSeconds": None,
                        "inputs": {
                            "source_url": "${params.base_url}${params.path}",
                            "query": {"times": "${params.times}"},
                            "headers": {"X-Token": "${secrets.API_TOKEN}"},
                        },
                    }
                ],
            }
        }
    }


def test_an_unknown_runbook_is_null_and_an_invalid_one_an_error(api: Served) -> None:
    assert api.graphql('{ runbook(id: "nope") { id } }') == {"data": {"runbook": None}}
    result = api.graphql('{ runbook(id: "srv-broken") { id } }')
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "INVALID_RUNBOOK"
    assert any("nowhere" in d for d in error["extensions"]["diagnostics"])


def test_executes_against_a_fixture_and_queries_the_execution_back(api: Served) -> None:
    result = api.graphql(EXECUTE, id="srv-greet", inputs={"times": 2}, fixture=FIXTURE)
    execution = result["data"]["executeRunbook"]
    assert (execution["status"], execution["runbookId"], execution["world"]) == (
        "SUCCESS",
        "srv-greet",
        "fixture",
    )
    assert execution["startedAt"] == "2000-01-01T00:00:00+00:00"  # the fixture's clock
    assert execution["completedAt"] == "2000-01-01T00:00:00+00:00"
    assert execution["actor"] == "api-token"
    (log,) = execution["stepLogs"]
    assert (log["stepId"], log["status"], log["attempts"]) == ("greet", "succeeded", 1)
    assert log["outputs"] == {"said": {"message": "hello hello"}}
    assert log["inputs"]["headers"] == {"X-Token": "***"}

    again = api.graphql(
        f"query($id: ID!) {{ runbookExecution(id: $id) {{ {EXECUTION_FIELDS} }} }}",
        id=execution["id"],
    )
    assert again == {"data": {"runbookExecution": execution}}
    missing = api.graphql('{ runbookExecution(id: "nope") { id } }')
    assert missing == {"data": {"runbookExecution": None}}


def test_executes_live_without_a_fixture(api: Served, http_server: TestServer) -> None:
    result = api.graphql(
        EXECUTE, id="srv-greet", inputs={"base_url": http_server.base_url, "path": "/entities"}
    )
    execution = result["data"]["executeRunbook"]
    assert (execution["status"], execution["world"]) == ("SUCCESS", "live")
    assert http_server.last("/entities").query == {"times": "1"}


def test_a_failing_run_is_status_failure_not_an_error(api: Served) -> None:
    result = api.graphql(EXECUTE, id="srv-greet", inputs={"path": "/broken"}, fixture=FIXTURE)
    assert "errors" not in result
    execution = result["data"]["executeRunbook"]
    assert execution["status"] == "FAILURE"
    assert "step 'greet' failed" in execution["error"]


@pytest.mark.parametrize(
    ("variables", "code", "message"),
    [
        ({"id": "srv-greet", "inputs": [1], "fixture": FIXTURE}, "BAD_REQUEST", "inputs must"),
        (
            {"id": "srv-greet", "inputs": {"times": "x"}, "fixture": FIXTURE},
            "BAD_REQUEST",
            "parameter 'times'",
        ),
        ({"id": "srv-greet", "fixture": "../x.yaml"}, "BAD_REQUEST", "outside the project"),
        ({"id": "nope", "fixture": FIXTURE}, "NOT_FOUND", "no runbook 'nope'"),
        ({"id": "srv-broken"}, "INVALID_RUNBOOK", "has errors"),
    ],
)
def test_bad_mutations_are_errors_with_a_code(
    api: Served, variables: dict[str, object], code: str, message: str
) -> None:
    result = api.graphql(EXECUTE, **variables)
    assert result["data"] is None
    (error,) = result["errors"]
    assert error["extensions"]["code"] == code
    assert message in error["message"]


def test_replays_an_execution(api: Served) -> None:
    original = api.graphql(EXECUTE, id="srv-greet", fixture=FIXTURE)["data"]["executeRunbook"]
    result = api.graphql(
        f"mutation($id: ID!) {{ replayExecution(executionId: $id) {{ {EXECUTION_FIELDS} }} }}",
        id=original["id"],
    )
    replay = result["data"]["replayExecution"]
    assert (replay["status"], replay["world"], replay["replayOf"]) == (
        "SUCCESS",
        "replay",
        original["id"],
    )
    assert replay["replay"]["verified"] is True
    unknown = api.graphql('mutation { replayExecution(executionId: "nope") { id } }')
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_query_that_does_not_fit_the_schema_is_answered_with_errors(api: Served) -> None:
    response = api.client.post("/graphql", json={"query": "{ runbook(id: 1) { nope } }"})
    assert response.status_code == 400
    assert "nope" in response.json()["errors"][0]["message"]


def test_every_rb_status_has_a_graphql_status() -> None:
    from typing import get_args

    from rb.cli.options import RunStatus

    statuses = get_args(RunStatus)  # the choices of `rb runs list --status`
    assert set(GRAPHQL_STATUS) == set(statuses)
    assert GRAPHQL_STATUS["interrupted"] == "ABORTED"
