"""`rb acceptance coverage` and the dependency inventory it reads (rb.acceptance.dependencies)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rb.acceptance.coverage import coverage
from rb.acceptance.dependencies import inventory
from rb.acceptance.pack import load_pack
from rb.acceptance.runner import prepare
from rb.cli.commands.acceptance_coverage import acceptance_coverage
from rb.loader import load_text
from rb.world.fixture_format import load_fixture

from .conftest import run_rb

RUNBOOK = """\
id: rb-900-orders
name: Orders
version: "1"
parameters:
  api: {type: string, default: "http://api.test"}
steps:
  - id: fetch
    type: data_fetch
    inputs: {source_url: "${params.api}/orders"}
    outputs: {id: "$.id"}
    rollback:
      type: api_call
      inputs: {url: "${params.api}/orders/lock", method: DELETE}
  - id: count
    type: sql_query
    depends_on: [fetch]
    inputs: {database_url: "${secrets.DB}", query: "SELECT count(*) AS n FROM orders"}
    on_failure: log_and_continue
  - id: archive
    type: shell
    depends_on: [count]
    inputs: {command: tar, args: [czf, orders.tgz, orders]}
    on_failure: rollback
  - id: notify
    type: api_call
    depends_on: [archive]
    inputs:
      url: "${params.api}/orders/${steps.fetch.outputs.id}"
      method: POST
      expect_status: [200, 201]
    retry: {max_attempts: 3}
  - id: page
    type: ui_screenshot
    depends_on: [notify]
    inputs: {url: "${params.api}/dashboard"}
    on_failure: log_and_continue
  - id: push
    type: metrics_publish
    depends_on: [notify]
    inputs: {gateway_url: "http://push.test", metrics: {orders: 1}}
"""

GOLDEN = """\
runbook: rb-900-orders
secrets: {DB: "sqlite://"}
http:
  - request: {method: GET, url: "http://api.test/orders"}
    response: {json: {id: 7}}
  - request: {method: POST, url: "http://api.test/orders/7"}
    response: {status: 201}
  - request: {method: PUT, url: "http://push.test/metrics/job/rb-900-orders"}
    response: {status: 200}
sql:
  - request: {query: "SELECT count(*) AS n FROM orders"}
    response: {rows: [{n: 3}]}
shell:
  - request: {command: tar, args: [czf, orders.tgz, orders]}
    response: {exit_code: 0}
stubs:
  page: {result: {screenshot: x.png, width: 1, height: 1}}
"""


def _faulty(golden: str, old: str, new: str) -> str:
    assert old in golden
    return golden.replace(old, new)


SCENARIOS = {
    # the database answers an error: count fails and is logged
    "db-error": _faulty(GOLDEN, "response: {rows: [{n: 3}]}", "response: {error: gone}"),
    # tar exits 2: archive fails, fetch is rolled back
    "tar-fails": _faulty(GOLDEN, "response: {exit_code: 0}", "response: {exit_code: 2}"),
    # 500 then 201: notify's retry recovers, no step fails
    "notify-retry": _faulty(
        GOLDEN, "response: {status: 201}", "responses: [{status: 500}, {status: 201}]"
    ),
}

PACK = """\
scenarios:
  - name: Happy path
    fixture: fixtures/golden.yaml
    expected: {status: success}
  - name: Database error
    fixture: fixtures/db-error.yaml
    expected: {status: success, steps: {count: failed}}
  - name: Archive fails
    fixture: fixtures/tar-fails.yaml
    expected: {status: failure}
  - name: Notify recovers
    fixture: fixtures/notify-retry.yaml
    expected: {status: success}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "orders.yaml").write_text(RUNBOOK, encoding="utf-8")
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "golden.yaml").write_text(GOLDEN, encoding="utf-8")
    for name, text in SCENARIOS.items():
        (tmp_path / "fixtures" / f"{name}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "acceptance" / "rb-900-orders").mkdir(parents=True)
    (tmp_path / "acceptance" / "rb-900-orders" / "acceptance.yml").write_text(
        PACK, encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_inventory_lists_every_dependency_in_order_with_its_steps_and_policies(
    project: Path,
) -> None:
    loaded = load_text(RUNBOOK, "runbooks/orders.yaml")
    assert loaded.runbook is not None
    inv = inventory(loaded.runbook, load_fixture("fixtures/golden.yaml"))
    assert [(d.key, d.steps, d.resolved) for d in inv.dependencies] == [
        ("GET ${params.api}/orders", ("fetch",), ("GET http://api.test/orders",)),
        ("DELETE ${params.api}/orders/lock", ("fetch",), ()),
        (
            "POST ${params.api}/orders/${steps.fetch.outputs.id}",
            ("notify",),
            ("POST http://api.test/orders/7",),
        ),
        (
            "database ${secrets.DB}",
            ("count",),
            ("SQL 'SELECT count(*) AS n FROM orders'",),
        ),
        ("command tar", ("archive",), ("command 'tar'",)),
        ("page ${params.api}/dashboard", ("page",), ()),
        (
            "metrics http://push.test",
            ("push",),
            ("PUT http://push.test/metrics/job/rb-900-orders",),
        ),
    ]
    policies = [
        (u.step, u.role, u.on_failure, u.max_attempts, u.has_rollback)
        for d in inv.dependencies
        for u in d.uses
    ]
    assert policies == [
        ("fetch", "step", "abort", 1, True),
        ("fetch", "rollback", "abort", 1, True),
        ("notify", "step", "abort", 3, False),
        ("count", "step", "log_and_continue", 1, False),
        ("archive", "step", "rollback", 1, False),
        ("page", "step", "log_and_continue", 1, False),
        ("push", "step", "abort", 1, False),
    ]


def test_coverage_counts_the_faulted_dependencies_and_the_driven_failure_paths(
    project: Path,
) -> None:
    prepared = prepare(load_pack(Path("acceptance/rb-900-orders/acceptance.yml")))
    found = coverage(prepared.runbook, prepared.pack, prepared.fixtures)
    exercised = {
        d.dependency.key: [(f.scenario, f.fault) for f in d.faults] for d in found.dependencies
    }
    assert exercised == {
        "GET ${params.api}/orders": [],
        "DELETE ${params.api}/orders/lock": [],
        "POST ${params.api}/orders/${steps.fetch.outputs.id}": [("Notify recovers", "status 500")],
        "database ${secrets.DB}": [("Database error", "error")],
        "command tar": [("Archive fails", "exit 2")],
        "page ${params.api}/dashboard": [],
        "metrics http://push.test": [],
    }
    assert [(p.step, p.path, p.scenarios) for p in found.paths] == [
        ("fetch", "rollback", ("Archive fails",)),  # archive fails with on_failure: rollback
        ("count", "on_failure: log_and_continue", ("Database error",)),
        ("archive", "on_failure: rollback", ("Archive fails",)),
        ("page", "on_failure: log_and_continue", ()),
    ]
    assert (round(found.dependency_percent, 1), found.path_percent) == (42.9, 75.0)


@pytest.mark.parametrize(("minimum", "code"), [(None, 0), (40, 0), (42.8, 0), (50, 1), (100, 1)])
def test_min_fails_below_the_threshold_and_names_what_is_not_covered(
    project: Path, minimum: float | None, code: int
) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert acceptance_coverage([], minimum=minimum, out=out, err=err) == code
    if code:
        assert err.getvalue().startswith("rb: rb-900-orders: dependencies 42.9% is below --min ")
        assert "no scenario exercises: GET ${params.api}/orders; DELETE" in err.getvalue()
    else:
        assert err.getvalue() == ""


def test_the_text_report(project: Path) -> None:
    out = io.StringIO()
    acceptance_coverage(["rb-900-orders"], out=out, err=io.StringIO())
    assert out.getvalue().splitlines() == [
        "rb-900-orders (acceptance/rb-900-orders/acceptance.yml)",
        "  dependencies exercised: 3/7 (42.9%)",
        "    ✗ GET ${params.api}/orders [fetch]",
        "    ✗ DELETE ${params.api}/orders/lock [fetch]",
        "    ✓ POST ${params.api}/orders/${steps.fetch.outputs.id} [notify]: "
        "status 500 in 1 scenario",
        "    ✓ database ${secrets.DB} [count]: error in 1 scenario",
        "    ✓ command tar [archive]: exit 2 in 1 scenario",
        "    ✗ page ${params.api}/dashboard [page]",
        "    ✗ metrics http://push.test [push]",
        "  failure paths driven: 3/4 (75.0%)",
        "    ✓ fetch rollback: Archive fails",
        "    ✓ count on_failure: log_and_continue: Database error",
        "    ✓ archive on_failure: rollback: Archive fails",
        "    ✗ page on_failure: log_and_continue",
        "1 runbook: 3/7 dependencies exercised, 3/4 failure paths driven",
    ]


def test_json_output_through_the_cli(project: Path) -> None:
    done = run_rb("acceptance", "coverage", "--format", "json", "--min", "75", cwd=project)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["min"], doc["passed"]) == (75.0, False)
    (runbook,) = doc["runbooks"]
    assert runbook["dependencies"]["covered"] == 3 and runbook["dependencies"]["total"] == 7
    assert runbook["paths"] == {
        "covered": 3,
        "total": 4,
        "percent": 75.0,
        "items": [
            {"step": "fetch", "path": "rollback", "covered": True, "scenarios": ["Archive fails"]},
            {
                "step": "count",
                "path": "on_failure: log_and_continue",
                "covered": True,
                "scenarios": ["Database error"],
            },
            {
                "step": "archive",
                "path": "on_failure: rollback",
                "covered": True,
                "scenarios": ["Archive fails"],
            },
            {
                "step": "page",
                "path": "on_failure: log_and_continue",
                "covered": False,
                "scenarios": [],
            },
        ],
    }
    assert "rb-900-orders: dependencies 42.9% is below --min 75.0%" in done.stderr


def test_the_example_packs_are_covered_the_same_way_twice() -> None:
    first = run_rb("acceptance", "coverage", "--format", "json")
    second = run_rb("acceptance", "coverage", "--format", "json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout)
    assert [r["runbook"] for r in doc["runbooks"]] == [
        "rb-001-entity-enrichment",
        "rb-002-database-failover-check",
        "rb-003-canary-deployment",
        "rb-004-tls-certificate-sweep",
    ]
    # each example pack faults at least two of its runbook's dependencies
    assert all(r["dependencies"]["covered"] >= 2 for r in doc["runbooks"])
    text = run_rb("acceptance", "coverage")
    assert text.returncode == 0 and text.stdout == run_rb("acceptance", "coverage").stdout


def test_rb_acceptance_still_runs_packs_with_or_without_the_run_word(project: Path) -> None:
    plain = run_rb("acceptance", "rb-900-orders", "--no-record", "--format", "json", cwd=project)
    named = run_rb(
        "acceptance", "run", "rb-900-orders", "--no-record", "--format", "json", cwd=project
    )
    assert plain.stdout == named.stdout
    assert json.loads(plain.stdout)["summary"]["scenarios"] == 4
