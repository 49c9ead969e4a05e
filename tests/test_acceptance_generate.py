"""`rb acceptance generate`: failure scenarios derived from a runbook's declarations."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from rb.cli.commands.acceptance_generate import acceptance_generate

from .conftest import ROOT

RUNBOOK = """\
id: rb-901-items
name: Items
version: "1"
parameters:
  api: {type: string, default: "http://api.test"}
steps:
  - id: fetch
    type: data_fetch
    inputs: {source_url: "${params.api}/items"}
    outputs: {items: "$.items"}
    retry: {max_attempts: 2, initial_delay_seconds: 1}
    rollback:
      type: api_call
      inputs: {url: "${params.api}/lock", method: DELETE}
  - id: check
    type: schema_check
    depends_on: [fetch]
    inputs:
      entities: "${steps.fetch.outputs.items}"
      schema: {type: object, required: [id]}
  - id: note
    type: api_call
    depends_on: [check]
    inputs: {url: "${params.api}/notes", method: POST, expect_status: [200, 401]}
    on_failure: log_and_continue
  - id: deploy
    type: api_call
    depends_on: [note]
    inputs: {url: "${params.api}/deploy", method: POST}
    on_failure: rollback
"""

GOLDEN = """\
runbook: rb-901-items
http:
  - step: fetch
    request: {method: GET, url: "http://api.test/items"}
    response: {status: 200, json: {items: [{id: 1}, {id: 2}]}}
  - step: note
    request: {method: POST, url: "http://api.test/notes"}
    response: {status: 200}
  - step: deploy
    request: {method: POST, url: "http://api.test/deploy"}
    response: {status: 200}
  - request: {method: DELETE, url: "http://api.test/lock"}
    response: {status: 204}
"""

FETCH = "fetch-get-params-api-items"
NOTE = "note-post-params-api-notes"
DEPLOY = "deploy-post-params-api-deploy"
GENERATED = [
    f"{FETCH}-timeout",
    f"{FETCH}-timeout-once",
    f"{FETCH}-connection-refused",
    f"{FETCH}-connection-refused-once",
    f"{FETCH}-status-500",
    f"{FETCH}-status-500-once",
    f"{FETCH}-status-401",
    f"{FETCH}-status-429",
    f"{FETCH}-status-429-once",
    f"{FETCH}-malformed-body",
    f"{FETCH}-drift-removed",
    f"{FETCH}-drift-renamed",
    f"{FETCH}-drift-type",
    f"{NOTE}-timeout",
    f"{NOTE}-connection-refused",
    f"{NOTE}-status-500",
    f"{NOTE}-status-401",
    f"{NOTE}-status-429",
    f"{DEPLOY}-timeout",
    f"{DEPLOY}-connection-refused",
    f"{DEPLOY}-status-500",
    f"{DEPLOY}-status-401",
    f"{DEPLOY}-status-429",
]
ALL_SUCCEED = {
    "fetch": "succeeded",
    "check": "succeeded",
    "note": "succeeded",
    "deploy": "succeeded",
}


def _project(root: Path, runbook: str = RUNBOOK, golden: str = GOLDEN) -> None:
    (root / "runbooks").mkdir()
    (root / "runbooks" / "items.yaml").write_text(runbook, encoding="utf-8")
    (root / "fixtures").mkdir()
    (root / "fixtures" / "items.yaml").write_text(golden, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _generate(*args: str, **kwargs: object) -> tuple[int, str]:
    out = io.StringIO()
    code = acceptance_generate(*args, out=out, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _expected(pack: Path) -> dict[str, dict[str, object]]:
    data = yaml.safe_load(pack.read_text(encoding="utf-8"))
    return {s["name"]: s["expected"] for s in data["scenarios"]}


def test_generates_each_fault_with_the_outcome_its_declarations_promise(project: Path) -> None:
    code, text = _generate("rb-901-items")
    assert code == 0, text
    out = project / "acceptance" / "generated" / "rb-901-items"
    expected = _expected(out / "acceptance.yml")
    assert list(expected) == GENERATED
    assert sorted(p.stem for p in (out / "fixtures").iterdir()) == sorted(GENERATED)
    assert "every failure policy does what it declares" in text
    assert "not generated: DELETE ${params.api}/lock: only a rollback uses it" in text
    # abort (the default): fetch fails after its 2 attempts, every later step skipped
    skipped = {"check": "skipped", "note": "skipped", "deploy": "skipped"}
    assert expected[f"{FETCH}-status-500"] == {
        "status": "failure",
        "steps": {"fetch": "failed", **skipped},
    }
    # a retry recovers from one 500: the run ends as the golden one (KPIs not judged)
    assert expected[f"{FETCH}-status-500-once"] == {
        "status": "success",
        "kpis_breached": "*",
        "steps": ALL_SUCCEED,
    }
    # a field of another type passes fetch; the schema check reading it fails
    assert expected[f"{FETCH}-drift-type"] == {
        "status": "failure",
        "steps": {"fetch": "succeeded", "check": "failed", "note": "skipped", "deploy": "skipped"},
    }
    # log_and_continue: note fails, the run goes on (deploy's fate is not stated)
    assert expected[f"{NOTE}-status-500"] == {
        "status": "success",
        "kpis_breached": "*",
        "steps": {"fetch": "succeeded", "check": "succeeded", "note": "failed"},
    }
    # note accepts 401 (expect_status): nothing fails
    assert expected[f"{NOTE}-status-401"]["steps"] == ALL_SUCCEED
    # rollback: deploy fails, fetch (which declares a rollback) is rolled back
    assert expected[f"{DEPLOY}-timeout"] == {
        "status": "failure",
        "steps": {
            "fetch": "rolled_back",
            "check": "succeeded",
            "note": "succeeded",
            "deploy": "failed",
        },
    }
    fixture = yaml.safe_load((out / "fixtures" / f"{FETCH}-status-500-once.yaml").read_text())
    assert fixture["http"][0]["responses"] == [
        {"status": 500, "json": {"items": [{"id": 1}, {"id": 2}]}},
        {"status": 200, "json": {"items": [{"id": 1}, {"id": 2}]}},
    ]


def test_a_second_run_writes_byte_identical_files(project: Path) -> None:
    out = project / "acceptance" / "generated" / "rb-901-items"
    assert _generate("runbooks/items.yaml", run_them=False)[0] == 0
    first = _tree(out)
    (out / "fixtures" / "stale.yaml").write_text("old: true\n", encoding="utf-8")
    assert _generate("runbooks/items.yaml", run_them=False)[0] == 0
    assert _tree(out) == first  # the stale fixture is gone, the rest unchanged


def test_the_generated_pack_passes_under_rb_acceptance(project: Path) -> None:
    from rb.cli.commands.acceptance import acceptance

    assert _generate("rb-901-items", run_them=False)[0] == 0
    out = io.StringIO()
    assert acceptance(["acceptance/generated/rb-901-items"], out=out) == 0, out.getvalue()
    shown = io.StringIO()
    acceptance(["acceptance/generated/rb-901-items"], output_format="json", out=shown)
    assert "(KPIs not judged)" in shown.getvalue()  # a verdict says what it did not check


def test_a_policy_the_runbook_does_not_keep_is_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # deploy reads note's output without a guard, so note's log_and_continue
    # does not let the run go on; and fetch's rollback answers 500, so a
    # failing deploy cannot roll fetch back.
    runbook = RUNBOOK.replace(
        'inputs: {url: "${params.api}/notes", method: POST, expect_status: [200, 401]}',
        'inputs: {url: "${params.api}/notes", method: POST, expect_status: [200, 401]}\n'
        '    outputs: {id: "$.id"}',
    ).replace(
        'inputs: {url: "${params.api}/deploy", method: POST}',
        'inputs: {url: "${params.api}/deploy/${steps.note.outputs.id}", method: POST}',
    )
    golden = (
        GOLDEN.replace(
            "response: {status: 200}\n  - step: deploy",
            "response: {json: {id: 7}}\n  - step: deploy",
        )
        .replace("http://api.test/deploy", "http://api.test/deploy/7")
        .replace("response: {status: 204}", "response: {status: 500}")
    )
    _project(tmp_path, runbook, golden)
    monkeypatch.chdir(tmp_path)
    code, text = _generate("rb-901-items", output_format="json")
    assert code == 1
    findings = json.loads(text)["findings"]
    broken = {(f["scenario"], f["check"]) for f in findings}
    assert (f"{NOTE}-status-500", "status") in broken  # run failed: deploy read note's output
    rolled = [f for f in findings if f["check"] == "steps.fetch"]
    assert rolled and all(f["expected"] == "rolled_back" for f in rolled)
    assert all(f["actual"].startswith("succeeded") for f in rolled)


def test_generating_for_the_seed_runbook_works_and_is_deterministic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("runbooks", "fixtures", "screenshots"):
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "acceptance" / "generated" / "rb-001-entity-enrichment"
    code, text = _generate("rb-001-entity-enrichment", output_format="json")
    report = json.loads(text)
    assert report["fixture"] == "fixtures/golden-scenarios.json"
    names = [s["name"] for s in report["scenarios"]]
    assert "ingest-get-params-source-api-url-status-500-once" in names
    assert "report-metrics-params-pushgateway-url-timeout" in names
    # validate logs and continues, but enrich reads its outputs unguarded: a finding
    assert code == 1
    assert {f["scenario"] for f in report["findings"]} == {
        "ingest-get-params-source-api-url-drift-type"
    }
    first = _tree(out)
    assert _generate("rb-001-entity-enrichment", run_them=False)[0] == 0
    assert _tree(out) == first


SQL_SHELL = """\
id: rb-902-backup
name: Backup
version: "1"
steps:
  - id: count
    type: sql_query
    inputs: {database_url: "${secrets.DB}", query: "SELECT count(*) AS n FROM orders"}
  - id: archive
    type: shell
    depends_on: [count]
    inputs: {command: tar, args: [czf, orders.tgz, orders], expect_exit: [0, 1]}
    retry: {max_attempts: 2}
    on_failure: log_and_continue
"""

SQL_SHELL_GOLDEN = """\
runbook: rb-902-backup
secrets: {DB: "sqlite://"}
sql:
  - request: {query: "SELECT count(*) AS n FROM orders"}
    response: {rows: [{n: 3}]}
shell:
  - request: {command: tar, args: [czf, orders.tgz, orders]}
    response: {exit_code: 0}
"""


def test_databases_and_commands_get_their_own_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, SQL_SHELL, SQL_SHELL_GOLDEN)
    monkeypatch.chdir(tmp_path)
    code, text = _generate("rb-902-backup")
    assert code == 0, text
    out = tmp_path / "acceptance" / "generated" / "rb-902-backup"
    expected = _expected(out / "acceptance.yml")
    db, tar = "count-database-secrets-db", "archive-command-tar"
    assert list(expected) == [
        f"{db}-error",
        f"{db}-timeout",
        f"{tar}-exit-nonzero",
        f"{tar}-exit-nonzero-once",
        f"{tar}-timeout",
        f"{tar}-timeout-once",
    ]
    assert expected[f"{db}-error"]["steps"] == {"count": "failed", "archive": "skipped"}
    assert expected[f"{tar}-exit-nonzero"]["status"] == "success"  # log_and_continue
    fixture = yaml.safe_load((out / "fixtures" / f"{tar}-exit-nonzero.yaml").read_text())
    assert fixture["shell"][0]["response"]["exit_code"] == 2  # 0 and 1 are accepted
