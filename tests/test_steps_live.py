"""Built-in step types against real parts: an HTTP server, SQLite and PostgreSQL,
a Prometheus Pushgateway and real processes. Nothing here is mocked.

Services that are missing skip their tests, unless RB_REQUIRE_POSTGRES=1 or
RB_REQUIRE_PUSHGATEWAY=1 (see tests/services.py).
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from rb.engine.events import (
    AttemptFailed,
    RetryScheduled,
    StepFailed,
    StepStarted,
    StepSucceeded,
)

from .servers import ENTITIES, TestServer, closed_port
from .services import Pushgateway, live_env, run_live

HEAD = 'id: live\nname: Live\nversion: "1"\n'


def _events_text(events: object) -> str:
    return repr(events)


# data_fetch --------------------------------------------------------------------
def test_data_fetch_reads_status_lower_cased_headers_and_the_json_body(
    http_server: TestServer,
) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    inputs: {{source_url: "{http_server.url("/entities")}"}}
    outputs:
      names: "$[*].name"
      first_id: "$[0].id"
      request_id: "${{result.headers['x-request-id']}}"
      status: "${{result.status}}"
"""
    )
    assert result.status == "success", result.error
    fetch = result.steps["fetch"]
    assert fetch.result["status"] == 200
    assert fetch.result["body"] == ENTITIES
    headers = fetch.result["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req-42"
    assert fetch.outputs == {
        "names": ["alpha", "beta", "gamma"],
        "first_id": 1,
        "request_id": "req-42",
        "status": 200,
    }
    assert fetch.summary == "3 names"  # its list output, counted by name


def test_data_fetch_sends_query_parameters_headers_and_a_secret_bearer_token(
    http_server: TestServer,
) -> None:
    result, events = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    inputs:
      source_url: "{http_server.url("/echo")}"
      query: {{limit: "2", q: "a b&c"}}
      headers: {{X-Trace: trace-1}}
      auth_token: "${{secrets.API_TOKEN}}"
    outputs:
      auth: "$['headers'].authorization"
      query: "$.query"
""",
        secrets={"API_TOKEN": "tok-s3cret"},
    )
    assert result.status == "success", result.error
    seen = http_server.last("/echo")
    assert seen.method == "GET"
    assert seen.query == {"limit": "2", "q": "a b&c"}
    assert seen.headers["authorization"] == "Bearer tok-s3cret"
    assert seen.headers["x-trace"] == "trace-1"
    # The token reached the server, but never the outputs or events.
    assert result.outputs()["fetch"] == {
        "auth": "Bearer ***",
        "query": {"limit": "2", "q": "a b&c"},
    }
    [succeeded] = events.of(StepSucceeded)
    assert succeeded.inputs["auth_token"] == "***"
    assert "tok-s3cret" not in _events_text(events.events)


def test_data_fetch_posts_a_json_body(http_server: TestServer) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: post
    type: data_fetch
    inputs:
      source_url: "{http_server.url("/echo/search")}"
      method: POST
      json: {{kinds: [person], limit: 10, exact: true, after: null}}
"""
    )
    assert result.status == "success", result.error
    seen = http_server.last("/echo/search")
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/json"
    assert seen.json == {"kinds": ["person"], "limit": 10, "exact": True, "after": None}


def test_data_fetch_keeps_a_text_body_as_text(http_server: TestServer) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    inputs: {{source_url: "{http_server.url("/plain")}"}}
    outputs: {{text: "$"}}
"""
    )
    assert result.status == "success", result.error
    assert result.steps["fetch"].outputs == {"text": "just text\n"}
    assert result.steps["fetch"].summary == "HTTP 200"


# Retries, status codes, timeouts, connection errors ----------------------------
def test_retries_until_the_server_recovers(http_server: TestServer) -> None:
    url = http_server.url("/flaky/recovering?failures=2")
    result, events = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    retry: {{max_attempts: 4, initial_delay_seconds: 0.01, max_delay_seconds: 0.02}}
    inputs: {{source_url: "{url}"}}
    outputs: {{call: "$.call"}}
"""
    )
    assert result.status == "success", result.error
    assert result.steps["fetch"].attempts == 3
    assert result.steps["fetch"].outputs == {"call": 3}
    assert http_server.calls("recovering") == 3
    assert [e.attempt for e in events.of(StepStarted)] == [1, 2, 3]
    # The start of the error body says why the server refused.
    assert [e.error for e in events.of(AttemptFailed)] == [
        f'HTTP 500 from GET {url}: {{"call": {n}, "error": "try again"}}' for n in (1, 2)
    ]
    assert [e.next_attempt for e in events.of(RetryScheduled)] == [2, 3]


def test_retries_run_out_against_a_server_that_keeps_failing(http_server: TestServer) -> None:
    url = http_server.url("/flaky/down?failures=100")
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    retry: {{max_attempts: 2, initial_delay_seconds: 0.01}}
    inputs: {{source_url: "{url}"}}
"""
    )
    assert result.status == "failure"
    error = result.steps["fetch"].error
    assert error.startswith(f"HTTP 500 from GET {url}: ") and error.endswith("(after 2 attempts)")
    assert result.error == f"step 'fetch' failed: {error}"
    assert http_server.calls("down") == 2


def test_client_errors_are_not_retried(http_server: TestServer) -> None:
    url = http_server.url("/status/404")
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    retry: {{max_attempts: 3, initial_delay_seconds: 0.01}}
    inputs: {{source_url: "{url}"}}
"""
    )
    assert result.steps["fetch"].error.startswith(f"HTTP 404 from GET {url}")
    assert result.steps["fetch"].attempts == 1
    assert len(http_server.requests) == 1


def test_expect_status_accepts_the_listed_codes(http_server: TestServer) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: create
    type: api_call
    inputs: {{url: "{http_server.url("/status/201")}", method: POST, expect_status: 201}}
    outputs: {{status: "${{result.status}}"}}
  - id: gone
    type: api_call
    inputs: {{url: "{http_server.url("/status/404")}", method: DELETE, expect_status: [204, 404]}}
    outputs: {{status: "${{result.status}}"}}
  - id: strict
    type: api_call
    depends_on: [create, gone]
    inputs: {{url: "{http_server.url("/status/200")}", expect_status: 204}}
"""
    )
    assert result.steps["create"].outputs == {"status": 201}
    assert result.steps["gone"].outputs == {"status": 404}
    assert result.steps["strict"].error.startswith(
        f"HTTP 200 from GET {http_server.url('/status/200')}"
    )


def test_a_step_timeout_abandons_a_slow_server(http_server: TestServer) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: slow
    type: data_fetch
    timeout_seconds: 0.2
    inputs: {{source_url: "{http_server.url("/slow")}"}}
"""
    )
    assert result.status == "failure"
    assert result.steps["slow"].error == "timed out after 0.2s"
    assert http_server.state.slow_started.is_set()
    # rb hung up instead of leaving the request open (bounded wait, not a sleep).
    assert http_server.state.client_gone.wait(timeout=10)


def test_connection_refused_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}/entities"
    result, events = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    retry: {{max_attempts: 2, initial_delay_seconds: 0.01}}
    inputs: {{source_url: "{url}"}}
"""
    )
    error = result.steps["fetch"].error
    assert error.startswith(f"GET {url}: cannot connect (")
    assert error.endswith("(after 2 attempts)")  # may be a server starting: retried
    assert len(events.of(AttemptFailed)) == 2


# api_call: REST and GraphQL ----------------------------------------------------
def test_api_call_rest_joins_the_endpoint_to_API_BASE_URL(http_server: TestServer) -> None:
    result, _ = run_live(
        HEAD
        + """
steps:
  - id: release
    type: api_call
    inputs:
      endpoint: /echo/releases/7
      method: PUT
      params: {dry_run: "true"}
      headers: {X-Change: CHG-1}
      auth_token: "${secrets.DEPLOY_TOKEN}"
      json: {version: "2.1.0", replicas: 3}
    outputs:
      method: "$.method"
""",
        env=live_env(API_BASE_URL=http_server.base_url + "/"),
        secrets={"DEPLOY_TOKEN": "deploy-tok"},
    )
    assert result.status == "success", result.error
    seen = http_server.last("/echo/releases/7")
    assert seen.method == "PUT"
    assert seen.query == {"dry_run": "true"}
    assert seen.headers["authorization"] == "Bearer deploy-tok"
    assert seen.headers["x-change"] == "CHG-1"
    assert seen.json == {"version": "2.1.0", "replicas": 3}
    assert result.steps["release"].outputs == {"method": "PUT"}


def test_api_call_without_a_base_url_says_what_to_set() -> None:
    result, _ = run_live(
        HEAD
        + """
steps:
  - id: call
    type: api_call
    inputs: {endpoint: /things}
"""
    )
    assert result.steps["call"].error == (
        "endpoint needs a base URL: give base_url, or set the API_BASE_URL variable"
    )


GRAPHQL = """\
query Enrich($entities: [EntityInput!]!, $limit: Int) {
  enrichEntities(entities: $entities, limit: $limit) { id score }
}
"""


def test_api_call_graphql_reads_the_query_file_beside_the_runbook(
    http_server: TestServer, tmp_path: Path
) -> None:
    (tmp_path / "enrich.graphql").write_text(GRAPHQL, encoding="utf-8")
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    inputs: {{source_url: "{http_server.url("/entities")}"}}
    outputs: {{people: "$[?@.kind == 'person']"}}
  - id: enrich
    type: api_call
    depends_on: [fetch]
    inputs:
      base_url: "{http_server.base_url}"
      endpoint: /graphql
      query: enrich.graphql
      auth_token: "${{secrets.GRAPH_TOKEN}}"
      variables: {{limit: 2}}
      entities: "${{steps.fetch.outputs.people}}"
    outputs:
      echoed_ids: "$.data.echo.variables.entities[*].id"
""",
        directory=tmp_path,
        secrets={"GRAPH_TOKEN": "graph-tok"},
    )
    assert result.status == "success", result.error
    seen = http_server.last("/graphql")
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["authorization"] == "Bearer graph-tok"
    people = [e for e in ENTITIES if e["kind"] == "person"]
    # The document is the file's text; extra inputs joined the variables.
    assert seen.json == {"query": GRAPHQL, "variables": {"limit": 2, "entities": people}}
    assert result.steps["enrich"].outputs == {"echoed_ids": [1, 3]}


def test_api_call_graphql_inline_query(http_server: TestServer) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: ask
    type: api_call
    inputs:
      url: "{http_server.url("/graphql")}"
      query: "query {{ ping }}"
      region: eu-west-1
    outputs: {{echo: "$.data.echo"}}
"""
    )
    assert result.status == "success", result.error
    assert result.steps["ask"].outputs == {
        "echo": {"query": "query { ping }", "variables": {"region": "eu-west-1"}}
    }


def test_a_graphql_errors_answer_fails_the_step_without_retrying(
    http_server: TestServer,
) -> None:
    url = http_server.url("/graphql")
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: enrich
    type: api_call
    retry: {{max_attempts: 3, initial_delay_seconds: 0.01}}
    inputs:
      url: "{url}"
      query: "mutation {{ enrich }}"
      fail_with: "entity 7 is unknown"
"""
    )
    assert result.status == "failure"
    assert result.steps["enrich"].error == f"GraphQL error from {url}: entity 7 is unknown"
    assert result.steps["enrich"].attempts == 1


def test_a_missing_graphql_file_is_a_clear_error(http_server: TestServer, tmp_path: Path) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: enrich
    type: api_call
    inputs: {{url: "{http_server.url("/graphql")}", query: missing.graphql}}
""",
        directory=tmp_path,
    )
    assert result.steps["enrich"].error == (
        f"cannot read GraphQL file {tmp_path.resolve() / 'missing.graphql'}: "
        "No such file or directory"
    )
    assert http_server.requests == []


# sql_query -------------------------------------------------------------------
def _sql_book(url: str, table: str) -> str:
    return (
        HEAD
        + f"""
steps:
  - id: create
    type: sql_query
    inputs:
      database_url: "{url}"
      query: "CREATE TABLE {table} (name TEXT NOT NULL, score NUMERIC(5, 2), active BOOLEAN)"
  - id: insert
    type: sql_query
    depends_on: [create]
    for_each:
      - {{name: alpha, score: 1.5, active: true}}
      - {{name: beta, score: 0.25, active: false}}
      - {{name: "o'brien; DROP TABLE {table}", score: 3, active: true}}
    inputs:
      database_url: "{url}"
      query: "INSERT INTO {table} (name, score, active) VALUES (:name, :score, :active)"
      params: {{name: "${{item.name}}", score: "${{item.score}}", active: "${{item.active}}"}}
    outputs: {{inserted: "$.row_count"}}
  - id: select
    type: sql_query
    depends_on: [insert]
    inputs:
      database_url: "{url}"
      query: "SELECT name, score, active FROM {table} WHERE score >= :min ORDER BY name"
      params: {{min: 1}}
    outputs:
      names: "$.rows[*].name"
      count: "$.row_count"
"""
    )


def test_sql_query_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    result, _ = run_live(_sql_book(url, "entities"))
    assert result.status == "success", result.error
    assert result.steps["insert"].outputs == {"inserted": [1, 1, 1]}
    select = result.steps["select"]
    # Bound parameters: the quote and the "DROP TABLE" are just text.
    assert select.result == {
        "columns": ["name", "score", "active"],
        "rows": [
            {"name": "alpha", "score": 1.5, "active": 1},
            {"name": "o'brien; DROP TABLE entities", "score": 3, "active": 1},
        ],
        "row_count": 2,
    }
    assert select.outputs == {"names": ["alpha", "o'brien; DROP TABLE entities"], "count": 2}
    assert select.summary == "2 names"  # its list output, counted by name


def test_sql_query_on_postgres(postgres_url: str, pg_table: str) -> None:
    result, _ = run_live(_sql_book(postgres_url, pg_table))
    assert result.status == "success", result.error
    assert result.steps["insert"].outputs == {"inserted": [1, 1, 1]}
    assert result.steps["select"].result == {
        "columns": ["name", "score", "active"],
        "rows": [  # NUMERIC comes back as a JSON number, BOOLEAN as a boolean
            {"name": "alpha", "score": 1.5, "active": True},
            {"name": f"o'brien; DROP TABLE {pg_table}", "score": 3.0, "active": True},
        ],
        "row_count": 2,
    }


def test_sql_query_on_postgres_gives_json_friendly_values(postgres_url: str) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: q
    type: sql_query
    inputs:
      database_url: "{postgres_url}"
      query: >-
        SELECT TIMESTAMP '2024-05-01 12:30:00' AS at, 2.50::numeric AS price,
        '\\xcafe'::bytea AS raw, NULL AS missing, ARRAY[1, 2] AS ids,
        '{{"a": 1}}'::jsonb AS doc, :who AS who
      params: {{who: ops}}
      max_rows: 5
"""
    )
    assert result.status == "success", result.error
    assert result.steps["q"].result["rows"] == [
        {
            "at": "2024-05-01T12:30:00",
            "price": 2.5,
            "raw": "cafe",
            "missing": None,
            "ids": [1, 2],
            "doc": {"a": 1},
            "who": "ops",
        }
    ]


def test_sql_query_max_rows_bounds_the_rows_returned(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: q
    type: sql_query
    inputs:
      database_url: "{url}"
      query: >-
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
        SELECT i FROM n
      max_rows: 3
"""
    )
    assert result.steps["q"].result == {
        "columns": ["i"],
        "rows": [{"i": 1}, {"i": 2}, {"i": 3}],
        "row_count": 3,
    }


def test_a_sqlite_sql_error_is_reported_as_a_sql_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: q
    type: sql_query
    retry: {{max_attempts: 3, initial_delay_seconds: 0.01}}
    inputs: {{database_url: "{url}", query: "SELECT id FROM no_such_table"}}
"""
    )
    # The database was reached: a missing table is the query's fault, and
    # retrying cannot fix it.
    assert result.steps["q"].error == "SQL error: no such table: no_such_table"
    assert result.steps["q"].attempts == 1


def test_a_postgres_sql_error_is_clear_and_hides_the_password(postgres_url: str) -> None:
    # Trust authentication ignores the password, so the query does run.
    url = postgres_url.replace("postgres@", "postgres:pw-canary@")
    result, events = run_live(
        HEAD
        + f"""
steps:
  - id: q
    type: sql_query
    inputs: {{database_url: "{url}", query: "SELECT id FROM rb_no_such_table"}}
"""
    )
    error = result.steps["q"].error
    assert error == 'SQL error: relation "rb_no_such_table" does not exist'
    assert "pw-canary" not in _events_text(events.events)


def test_a_postgres_sql_error_is_not_retried(postgres_url: str) -> None:
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: q
    type: sql_query
    retry: {{max_attempts: 3, initial_delay_seconds: 0.01}}
    inputs: {{database_url: "{postgres_url}", query: "SELEC 1"}}
"""
    )
    assert result.steps["q"].error.startswith('SQL error: syntax error at or near "SELEC"')
    assert result.steps["q"].attempts == 1


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    url = "postgresql://postgres:pw-canary@127.0.0.1:1/test"
    result, events = run_live(
        HEAD
        + f"""
steps:
  - id: q
    type: sql_query
    retry: {{max_attempts: 2, initial_delay_seconds: 0.01}}
    inputs: {{database_url: "{url}", query: "SELECT 1"}}
"""
    )
    error = result.steps["q"].error
    assert error.startswith("cannot reach database postgresql://postgres:***@127.0.0.1:1/test: ")
    assert "127.0.0.1" in error.split(": ", 1)[1]  # the driver's reason follows
    assert error.endswith("(after 2 attempts)")
    assert "pw-canary" not in error
    assert "pw-canary" not in result.error
    assert "pw-canary" not in _events_text(events.events)


def test_an_unusable_database_url_is_a_clear_error_without_the_password() -> None:
    result, events = run_live(
        HEAD
        + """
steps:
  - id: q
    type: sql_query
    inputs: {database_url: "nosuchdb://ops:pw-canary@db.internal/x", query: "SELECT 1"}
"""
    )
    error = result.steps["q"].error
    assert error.startswith("cannot use database nosuchdb://ops:***@db.internal/x: ")
    assert "nosuchdb" in error.split(": ", 1)[1]
    assert "pw-canary" not in _events_text(events.events)


# metrics_publish -------------------------------------------------------------
def _series(page: str, name: str) -> dict[str, str]:
    """{labels: value} of every sample of `name` on a /metrics page."""
    found = {}
    for line in page.splitlines():
        m = re.fullmatch(rf"{re.escape(name)}(\{{[^}}]*\}})? (\S+)", line)
        if m:
            found[m.group(1) or ""] = m.group(2)
    return found


def test_metrics_publish_pushes_gauges_to_the_pushgateway(pushgateway: Pushgateway) -> None:
    job = f"rb_live_{uuid.uuid4().hex[:8]}"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: report
    type: metrics_publish
    inputs:
      gateway_url: "{pushgateway.url}/"
      job: {job}
      labels: {{instance: ci, zone: "eu west 1"}}
      metrics: {{rb_live_entities_processed: 42, rb_live_ratio: 0.25, rb_live_ok: true}}
"""
    )
    assert result.status == "success", result.error
    assert result.steps["report"].result == {
        "published": ["rb_live_entities_processed", "rb_live_ok", "rb_live_ratio"],
        "gateway": f"{pushgateway.url}/",
        "job": job,
    }
    assert result.steps["report"].summary == "3 metrics published"
    page = pushgateway.metrics()
    labels = f'{{instance="ci",job="{job}",zone="eu west 1"}}'
    assert _series(page, "rb_live_entities_processed")[labels] == "42"
    assert _series(page, "rb_live_ratio")[labels] == "0.25"
    assert _series(page, "rb_live_ok")[labels] == "1"
    assert "# TYPE rb_live_entities_processed gauge" in page


def test_metrics_publish_job_and_label_values_may_contain_slashes(
    pushgateway: Pushgateway,
) -> None:
    # The Pushgateway splits the path after decoding %2F, so such values need
    # its `@base64` form (e.g. /metrics/job@base64/...); plain escaping is a 400.
    job = f"nightly/refresh-{uuid.uuid4().hex[:8]}"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: report
    type: metrics_publish
    inputs:
      gateway_url: "{pushgateway.url}"
      job: {job}
      labels: {{zone: eu/west-1}}
      metrics: {{rb_live_slashed: 7}}
"""
    )
    assert result.status == "success", result.error
    page = pushgateway.metrics()
    assert _series(page, "rb_live_slashed")[f'{{instance="",job="{job}",zone="eu/west-1"}}'] == "7"


def test_a_second_push_replaces_the_job_group(pushgateway: Pushgateway) -> None:
    job = f"rb_live_{uuid.uuid4().hex[:8]}"

    def push(metrics: str) -> None:
        result, _ = run_live(
            HEAD
            + f"""
steps:
  - id: report
    type: metrics_publish
    inputs: {{gateway_url: "{pushgateway.url}", job: {job}, metrics: {metrics}}}
"""
        )
        assert result.status == "success", result.error

    push("{rb_live_first: 1, rb_live_stale: 5}")
    push("{rb_live_first: 2}")
    page = pushgateway.metrics()
    assert _series(page, "rb_live_first")[f'{{instance="",job="{job}"}}'] == "2"
    assert not any(f'job="{job}"' in k for k in _series(page, "rb_live_stale"))


def test_metrics_publish_defaults_to_RB_PUSHGATEWAY_URL_and_the_runbook_id(
    pushgateway: Pushgateway, http_server: TestServer
) -> None:
    book_id = f"live-metrics-{uuid.uuid4().hex[:8]}"
    result, _ = run_live(
        f'id: {book_id}\nname: Live\nversion: "1"\n'
        + f"""
steps:
  - id: fetch
    type: data_fetch
    inputs: {{source_url: "{http_server.url("/entities")}"}}
    outputs: {{entities: "$"}}
  - id: report
    type: metrics_publish
    depends_on: [fetch]
    inputs:
      metrics: {{rb_live_fetched: "${{len(steps.fetch.outputs.entities)}}"}}
""",
        env=live_env(RB_PUSHGATEWAY_URL=pushgateway.url),
    )
    assert result.status == "success", result.error
    assert result.steps["report"].result["job"] == book_id
    page = pushgateway.metrics()
    assert _series(page, "rb_live_fetched")[f'{{instance="",job="{book_id}"}}'] == "3"


def test_metrics_publish_without_a_gateway_says_what_to_set() -> None:
    result, _ = run_live(
        HEAD
        + """
steps:
  - id: report
    type: metrics_publish
    inputs: {metrics: {rb_live_x: 1}}
"""
    )
    assert result.steps["report"].error == (
        "no Pushgateway: give gateway_url, or set the RB_PUSHGATEWAY_URL variable"
    )


# shell -----------------------------------------------------------------------
def _shell_step(code: str, extra: str = "") -> str:
    return (
        HEAD
        + f"""
steps:
  - id: sh
    type: shell
    inputs:
      command: python3
      args: ["-c", {json.dumps(code)}]
{extra}"""
    )


def test_shell_runs_a_program_and_parses_json_stdout() -> None:
    code = (
        "import json, sys; print('warming up', file=sys.stderr); "
        "print(json.dumps({'ready': True, 'replicas': 3}))"
    )
    result, _ = run_live(_shell_step(code, '    outputs: {replicas: "$.json.replicas"}\n'))
    assert result.status == "success", result.error
    sh = result.steps["sh"]
    assert sh.result == {
        "exit_code": 0,
        "stdout": '{"ready": true, "replicas": 3}\n',
        "stderr": "warming up\n",
        "json": {"ready": True, "replicas": 3},
    }
    assert sh.outputs == {"replicas": 3}
    assert sh.summary == "exit 0, 1 line of output"


def test_shell_text_output_has_no_json() -> None:
    result, _ = run_live(_shell_step("print('hello'); print('world')"))
    assert result.steps["sh"].result["json"] is None
    assert result.steps["sh"].result["stdout"] == "hello\nworld\n"


def test_shell_arguments_are_not_parsed_by_a_shell() -> None:
    hostile = "$(echo injected); rm -rf / && `id` | cat > x"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: sh
    type: shell
    inputs:
      command: python3
      args: ["-c", "import sys, json; print(json.dumps(sys.argv[1:]))", {json.dumps(hostile)}, 7]
"""
    )
    assert result.steps["sh"].result["json"] == [hostile, "7"]


def test_a_non_zero_exit_fails_with_the_code_and_the_stderr_tail() -> None:
    code = (
        "import sys\nfor i in range(1, 6): print(f'problem {i}', file=sys.stderr)\n"
        "print('partial output')\nsys.exit(3)"
    )
    result, _ = run_live(_shell_step(code))
    assert result.status == "failure"
    assert result.steps["sh"].error == "python3 exited with 3: problem 3 / problem 4 / problem 5"


def test_a_non_zero_exit_without_stderr_shows_the_stdout_tail() -> None:
    result, _ = run_live(_shell_step("import sys; print('nothing to do'); sys.exit(2)"))
    assert result.steps["sh"].error == "python3 exited with 2: nothing to do"


def test_expect_exit_accepts_a_listed_code() -> None:
    code = "import sys; print('[1, 2]'); sys.exit(3)"
    result, _ = run_live(_shell_step(code, "      expect_exit: [0, 3]\n"))
    assert result.status == "success", result.error
    assert result.steps["sh"].result["exit_code"] == 3
    assert result.steps["sh"].result["json"] == [1, 2]


def test_shell_passes_a_minimal_environment_what_the_step_declares_and_stdin() -> None:
    code = (
        "import json, os, sys; print(json.dumps({'world': os.environ.get('FROM_WORLD'), "
        "'step': os.environ.get('FROM_STEP'), 'declared': os.environ.get('DECLARED'), "
        "'path': bool(os.environ.get('PATH')), 'stdin': sys.stdin.read()}))"
    )
    step_env = '      env: {FROM_STEP: step-value, DECLARED: "${env.FROM_WORLD}"}\n'
    result, _ = run_live(
        _shell_step(code, step_env + '      stdin: "line 1\\n"\n'),
        env=live_env(FROM_WORLD="world-value"),
    )
    assert result.status == "success", result.error
    assert result.steps["sh"].result["json"] == {
        "world": None,  # not inherited: only what the step declares
        "step": "step-value",
        "declared": "world-value",
        "path": True,
        "stdin": "line 1\n",
    }


def test_shell_runs_in_the_runbook_folder_or_the_given_cwd(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    code = "import json, os; print(json.dumps(os.getcwd()))"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: default
    type: shell
    inputs: {{command: python3, args: ["-c", {json.dumps(code)}]}}
  - id: sub
    type: shell
    inputs: {{command: python3, args: ["-c", {json.dumps(code)}], cwd: work}}
""",
        directory=tmp_path,
    )
    assert result.status == "success", result.error
    assert result.steps["default"].result["json"] == str(tmp_path.resolve())
    assert result.steps["sub"].result["json"] == str((tmp_path / "work").resolve())


def test_a_missing_command_is_a_clear_error() -> None:
    result, _ = run_live(
        HEAD
        + """
steps:
  - id: sh
    type: shell
    inputs: {command: rb-no-such-command-3f9a, args: [x]}
"""
    )
    assert result.status == "failure"
    assert result.steps["sh"].error == "command not found: rb-no-such-command-3f9a"


# wait ------------------------------------------------------------------------
def test_wait_polls_until_the_service_is_healthy(http_server: TestServer) -> None:
    http_server.state.healthy_after = 4
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: ready
    type: wait
    inputs:
      until: "${{result.body.status == 'healthy'}}"
      poll: {{url: "{http_server.url("/health")}", headers: {{X-Probe: rb}}}}
      interval_seconds: 0.01
      timeout_seconds: 60
    outputs:
      polls: "$.polls"
      calls: "$.result.body.calls"
"""
    )
    assert result.status == "success", result.error
    ready = result.steps["ready"]
    assert ready.outputs == {"polls": 4, "calls": 4}
    assert ready.result["result"]["status"] == 200
    assert http_server.state.health_calls == 4
    assert http_server.last("/health").headers["x-probe"] == "rb"


def test_wait_keeps_polling_while_the_service_is_down() -> None:
    url = f"http://127.0.0.1:{closed_port()}/health"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: ready
    type: wait
    inputs:
      until: "${{result.status == None and 'cannot connect' in result.error}}"
      poll: {{url: "{url}"}}
      interval_seconds: 0.01
      timeout_seconds: 60
"""
    )
    assert result.status == "success", result.error
    assert result.steps["ready"].result["result"]["error"].startswith(f"GET {url}: cannot connect")


def test_wait_gives_up_when_the_condition_stays_false(http_server: TestServer) -> None:
    http_server.state.healthy_after = 10**9
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: ready
    type: wait
    inputs:
      until: "${{result.body.status == 'healthy'}}"
      poll: {{url: "{http_server.url("/health")}"}}
      interval_seconds: 0.01
      timeout_seconds: 0.05
"""
    )
    assert result.status == "failure"
    error = result.steps["ready"].error
    m = re.fullmatch(
        r"condition \$\{result.body.status == 'healthy'\} still false after 0.05s \((\d+) polls?\)",
        error,
    )
    assert m, error
    assert int(m.group(1)) == http_server.state.health_calls


# schema_check ----------------------------------------------------------------
ENTITY_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "kind"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "kind": {"enum": ["person"]},
    },
}


def _schema_book(url: str, extra: str = "") -> str:
    return (
        HEAD
        + f"""
steps:
  - id: fetch
    type: data_fetch
    inputs: {{source_url: "{url}"}}
    outputs: {{entities: "$"}}
  - id: validate
    type: schema_check
    depends_on: [fetch]
    inputs:
      entities: "${{steps.fetch.outputs.entities}}"
      schema: schemas/entity.json
{extra}    outputs:
      valid: "$.valid[*].name"
      errors: "$.errors"
"""
    )


def test_schema_check_with_a_schema_file_beside_the_runbook(
    http_server: TestServer, tmp_path: Path
) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "entity.json").write_text(json.dumps(ENTITY_SCHEMA))
    result, _ = run_live(_schema_book(http_server.url("/entities")), directory=tmp_path)
    assert result.status == "success", result.error
    validate = result.steps["validate"]
    assert validate.outputs == {
        "valid": ["alpha", "gamma"],
        "errors": [{"index": 1, "path": "$.kind", "message": "'place' is not one of ['person']"}],
    }
    assert (validate.result["valid_count"], validate.result["error_count"]) == (2, 1)
    assert validate.summary == "2 valid, 1 error"


def test_schema_check_fails_over_max_error_rate(http_server: TestServer, tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "entity.json").write_text(json.dumps(ENTITY_SCHEMA))
    result, _ = run_live(
        _schema_book(http_server.url("/entities"), "      max_error_rate: 0.1\n"),
        directory=tmp_path,
    )
    assert result.steps["validate"].error == "1 of 3 items are invalid, over max_error_rate 0.1"


def test_schema_check_with_a_missing_schema_file(http_server: TestServer, tmp_path: Path) -> None:
    result, events = run_live(_schema_book(http_server.url("/entities")), directory=tmp_path)
    expected = tmp_path.resolve() / "schemas" / "entity.json"
    assert result.steps["validate"].error == (
        f"cannot read schema {expected}: No such file or directory"
    )
    assert [e.step_id for e in events.of(StepFailed)] == ["validate"]


# A whole pipeline ------------------------------------------------------------
def test_fetch_validate_enrich_and_publish_end_to_end(
    http_server: TestServer, pushgateway: Pushgateway, tmp_path: Path
) -> None:
    (tmp_path / "entity.json").write_text(json.dumps(ENTITY_SCHEMA))
    (tmp_path / "enrich.graphql").write_text(GRAPHQL)
    job = f"rb_live_{uuid.uuid4().hex[:8]}"
    result, _ = run_live(
        HEAD
        + f"""
steps:
  - id: ingest
    type: data_fetch
    retry: {{max_attempts: 3, initial_delay_seconds: 0.01}}
    inputs: {{source_url: "{http_server.url("/entities")}", auth_token: "${{secrets.API}}"}}
    outputs: {{entities: "$"}}
  - id: validate
    type: schema_check
    depends_on: [ingest]
    inputs: {{entities: "${{steps.ingest.outputs.entities}}", schema: entity.json}}
    outputs: {{valid: "$.valid"}}
  - id: enrich
    type: api_call
    depends_on: [validate]
    inputs:
      endpoint: /graphql
      query: enrich.graphql
      entities: "${{steps.validate.outputs.valid}}"
    outputs: {{enriched: "$.data.echo.variables.entities"}}
  - id: report
    type: metrics_publish
    depends_on: [enrich]
    inputs:
      job: {job}
      metrics: {{rb_live_enriched: "${{len(steps.enrich.outputs.enriched)}}"}}
""",
        directory=tmp_path,
        env=live_env(API_BASE_URL=http_server.base_url, RB_PUSHGATEWAY_URL=pushgateway.url),
        secrets={"API": "api-tok"},
    )
    assert result.status == "success", result.error
    assert [s.status for s in result.steps.values()] == ["succeeded"] * 4
    assert http_server.last("/entities").headers["authorization"] == "Bearer api-tok"
    page = pushgateway.metrics()
    assert _series(page, "rb_live_enriched")[f'{{instance="",job="{job}"}}'] == "2"
