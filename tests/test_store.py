"""Recording and replay, on SQLite and on PostgreSQL (real servers, real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy

from .conftest import ROOT, run_rb
from .servers import TestServer
from .services import postgres_url

CANARY = "store-canary-5d1c0b7e"


def rb(*args: str, db: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return run_rb(*args, cwd=cwd, env={"RB_DATABASE_URL": db, **env})


def dump(url: str) -> str:
    """Every row of every table, as text (to look for leaked values)."""
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    out = []
    with engine.connect() as conn:
        for table in ("runbook_executions", "runbook_step_logs", "runbook_exchanges"):
            out += [repr(tuple(r)) for r in conn.execute(sqlalchemy.text(f"SELECT * FROM {table}"))]
    engine.dispose()
    return "\n".join(out)


FIXTURES = sorted((ROOT / "fixtures").glob("*.*"))


def _runbook_of(fixture: Path) -> str:
    from rb.world.fixture_format import load_fixture

    return load_fixture(fixture).runbook or ""


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_every_example_records_and_replays_verified(fixture: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    assert rb("test", _runbook_of(fixture), "--fixture", str(fixture), db=db).returncode == 0
    replayed = rb("replay", "last", db=db)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "REPLAY VERIFIED" in replayed.stdout
    again = rb("replay", "last", "--format", "json", db=db)  # a replay is itself recorded
    assert json.loads(again.stdout)["verified"] is True


def test_recording_replay_and_export_on_both_backends(store_url: str, tmp_path: Path) -> None:
    fixture = ROOT / "fixtures" / "golden-scenarios.json"
    first = rb(
        "test",
        "rb-001-entity-enrichment",
        "--fixture",
        str(fixture),
        "--actor",
        "ci-bot",
        db=store_url,
    )
    assert first.returncode == 0, first.stderr
    listing = json.loads(rb("runs", "list", "--format", "json", db=store_url).stdout)
    (run,) = listing
    assert (run["runbook_id"], run["status"], run["actor"]) == (
        "rb-001-entity-enrichment",
        "success",
        "ci-bot",
    )
    shown = json.loads(rb("runs", "show", run["id"][:6], "--format", "json", db=store_url).stdout)
    assert [s["step_id"] for s in shown["step_logs"]][:3] == ["ingest", "validate", "enrich"]
    for step in shown["step_logs"]:  # a step's recorded times span its recorded duration
        took = datetime.fromisoformat(step["completed_at"]) - datetime.fromisoformat(
            step["started_at"]
        )
        assert abs(took.total_seconds() - step["duration_seconds"]) < 1e-5, step
    assert shown["metadata"]["legal_basis"].startswith("Per IC Policy 12.3")
    assert shown["metadata"]["secrets"] == ["API_TOKEN"]  # the name, never the value
    kinds = [e["kind"] for e in shown["exchanges"]]
    assert kinds.count("http") == 3 and "screenshot" in kinds  # the image itself is kept
    ingest = next(e for e in shown["exchanges"] if e["step_id"] == "ingest")
    assert ingest["request"]["headers"]["Authorization"] == "Bearer ${secrets.API_TOKEN}"

    replayed = rb("replay", run["id"], db=store_url)
    first_line = replayed.stdout.splitlines()[0]  # the step's own summary, then the verdict
    assert replayed.returncode == 0 and first_line.startswith("✓ Step: ingest (")
    assert first_line.endswith(", matches original)")
    runs = json.loads(rb("runs", "list", "--format", "json", db=store_url).stdout)
    assert runs[0]["replay_of"] == run["id"] and runs[0]["world"] == "replay"

    exported = tmp_path / "exported.yaml"
    assert rb("runs", "export", run["id"], "--fixture", str(exported), db=store_url).returncode == 0
    again = rb(
        "test",
        "rb-001-entity-enrichment",
        "--fixture",
        str(exported),
        "--expect",
        str(ROOT / "expected" / "golden-scenarios.json"),
        "--no-record",
        db=store_url,
    )
    assert again.returncode == 0, again.stdout
    assert "fixture-api-token" not in dump(store_url)


def test_a_changed_jsonpath_is_caught_with_its_step_and_path(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    fixture = ROOT / "fixtures" / "golden-scenarios.json"
    assert rb("test", "rb-001-entity-enrichment", "--fixture", str(fixture), db=db).returncode == 0
    changed = tmp_path / "entity-enrichment.yaml"
    source = (ROOT / "runbooks" / "entity-enrichment.yaml").read_text()
    changed.write_text(source.replace('valid_count: "$.valid_count"', 'valid_count: "$.total"'))
    for extra in ("entity-v2.json", "enrichment-query.graphql"):
        (tmp_path / extra).write_text((ROOT / "runbooks" / extra).read_text())
    result = rb("replay", "last", "--definition", str(changed), db=db)
    assert result.returncode == 1
    assert "✗ Step: validate (outputs differ)" in result.stdout
    assert "    $.valid_count: expected 195, got 200" in result.stdout
    assert result.stdout.splitlines()[-2] == "REPLAY DIVERGED"


def test_a_changed_request_is_a_divergence_shown_expected_versus_actual(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    fixture = ROOT / "fixtures" / "golden-scenarios.json"
    assert rb("test", "rb-001-entity-enrichment", "--fixture", str(fixture), db=db).returncode == 0
    changed = tmp_path / "entity-enrichment.yaml"
    source = (ROOT / "runbooks" / "entity-enrichment.yaml").read_text()
    changed.write_text(source.replace('schema_version: "2"', 'schema_version: "3"'))
    for extra in ("entity-v2.json", "enrichment-query.graphql"):
        (tmp_path / extra).write_text((ROOT / "runbooks" / extra).read_text())
    result = rb("replay", "last", "--definition", str(changed), db=db)
    assert result.returncode == 1
    assert (
        "✗ Request: step 'ingest' sent a request the recording does not hold: no fixture "
        "exchange matches GET http://127.0.0.1:8080/api/v2/entities?limit=200&schema_version=3"
        in result.stdout
    )
    assert (
        "url differs (fixture http://127.0.0.1:8080/api/v2/entities?limit=200&schema_version=2"
        in result.stdout
    )


def test_secrets_never_reach_the_store(store_url: str, tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yaml"
    runbook.write_text(f"""\
id: secret-user
name: Secret user
version: "1"
steps:
  - id: use
    type: shell
    inputs: {{command: {sys.executable!r}, args: ["-c", "import sys; print(sys.argv[1])",
              "${{secrets.TOKEN}}"]}}
    outputs: {{said: "$.stdout"}}
""")
    result = rb("run", str(runbook), db=store_url, cwd=tmp_path, RB_SECRET_TOKEN=CANARY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CANARY not in result.stdout
    rows = dump(store_url)
    assert "${secrets.TOKEN}" in rows and CANARY not in rows


def test_a_database_that_is_down_is_a_clear_error() -> None:
    url = "postgresql://rb:db-password-canary@127.0.0.1:1/rb"
    result = rb("runs", "list", db=url)
    assert result.returncode == 1
    assert "cannot reach database postgresql://rb:***@127.0.0.1:1/rb" in result.stderr
    assert "db-password-canary" not in result.stderr + result.stdout


KILLABLE = """\
id: killable
name: Killable
version: "1"
steps:
  - {id: first, type: shell, inputs: {command: "true"}}
  - {id: second, type: shell, depends_on: [first], inputs: {command: "true"}}
  - id: hang
    type: data_fetch
    depends_on: [second]
    timeout_seconds: 300
    # The test server answers /slow only when released: this step is still
    # running when rb is killed, however long the run takes to get there.
    inputs: {source_url: "SLOW_URL"}
"""


def test_a_killed_run_keeps_its_finished_steps_and_shows_interrupted(
    store_url: str, tmp_path: Path, http_server: TestServer
) -> None:
    (tmp_path / "rb.yaml").write_text(KILLABLE.replace("SLOW_URL", http_server.url("/slow")))
    with subprocess.Popen(
        [sys.executable, "-m", "rb", "run", "rb.yaml", "--db", store_url],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:  # wait (without sleeping) until the last step runs
            if line.startswith("start   hang"):
                break
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    listing = json.loads(rb("runs", "list", "--format", "json", db=store_url).stdout)
    (run,) = listing
    assert run["status"] == "interrupted"
    shown = json.loads(rb("runs", "show", "last", "--format", "json", db=store_url).stdout)
    assert [(s["step_id"], s["status"]) for s in shown["step_logs"]] == [
        ("first", "succeeded"),
        ("second", "succeeded"),
    ]


def test_db_upgrade_and_last_and_prefixes(store_url: str) -> None:
    first = rb("db", "upgrade", db=store_url)
    assert first.returncode == 0 and "upgraded from empty to revision 0004" in first.stdout
    # With PostgreSQL, the queue rb worker serves is created beside rb's tables, once.
    queue = "created the procrastinate queue for rb worker"
    assert (queue in first.stdout) == store_url.startswith("postgresql")
    again = rb("db", "upgrade", db=store_url).stdout
    assert "already at revision 0004" in again and queue not in again
    missing = rb("runs", "show", "last", db=store_url)
    assert missing.returncode == 2 and "no runs recorded yet" in missing.stderr
    assert "no run 'zzz'" in rb("runs", "show", "zzz", db=store_url).stderr


def test_eight_concurrent_runs_into_postgres_lose_nothing_and_all_replay(tmp_path: Path) -> None:
    base = postgres_url()
    schema = f"rb_store_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    db = f"{base}?options=-csearch_path%3D{schema}"
    fixture = str(ROOT / "fixtures" / "golden-scenarios.json")
    try:
        # All eight start on an empty database: they also race to migrate it.
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rb",
                    "test",
                    "rb-001-entity-enrichment",
                    "--fixture",
                    fixture,
                    "--db",
                    db,
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        outcomes = [(*p.communicate(), p.returncode) for p in processes]
        assert [code for _, _, code in outcomes] == [0] * 8, outcomes
        runs = json.loads(rb("runs", "list", "--format", "json", db=db).stdout)
        assert len(runs) == 8 and {r["status"] for r in runs} == {"success"}
        for run in runs:
            shown = json.loads(rb("runs", "show", run["id"], "--format", "json", db=db).stdout)
            assert len(shown["step_logs"]) == 5
            assert rb("replay", run["id"], db=db).returncode == 0
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def test_live_replay_reports_drift_per_exchange(http_server: TestServer, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    (tmp_path / "rb.yaml").write_text(f"""\
id: drift
name: Drift
version: "1"
steps:
  - id: stable
    type: data_fetch
    inputs: {{source_url: "{http_server.url("/entities")}"}}
    outputs: {{n: "${{len(result.body)}}"}}
  - id: counter
    type: data_fetch
    depends_on: [stable]  # one after the other, so the exchanges keep this order
    inputs: {{source_url: "{http_server.url("/flaky/drift?failures=0")}"}}
    outputs: {{call: "$.call"}}
  - id: change
    type: api_call
    depends_on: [stable, counter]
    inputs: {{url: "{http_server.url("/echo")}", method: POST, json: {{deploy: 1}}}}
""")
    assert rb("run", "rb.yaml", db=db, cwd=tmp_path).returncode == 0
    result = rb("replay", "last", "--live", db=db, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ Exchange 1 (stable): GET http://127.0.0.1:")
    assert lines[0].endswith("— answers as recorded")
    assert lines[1].endswith("— answers differently") and lines[1].startswith("✗ Exchange 2")
    assert lines[2] == "    $.body.call: expected 1, got 2"
    assert lines[3].startswith("- Exchange 3 (change): POST") and "not re-sent" in lines[3]
    assert lines[-1] == "DRIFT DETECTED"
    assert [r.method for r in http_server.requests].count("POST") == 1  # never re-sent


def test_runs_list_filters_and_replay_json_is_stable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/store.db"
    for fixture in ("golden-scenarios.json", "database-failover-check.yaml"):
        path = ROOT / "fixtures" / fixture
        assert rb("test", _runbook_of(path), "--fixture", str(path), db=db).returncode == 0

    def ids(*args: str) -> list[str]:
        listing = json.loads(rb("runs", "list", "--format", "json", *args, db=db).stdout)
        return [r["runbook_id"] for r in listing]

    assert ids() == ["rb-002-database-failover-check", "rb-001-entity-enrichment"]
    assert ids("--runbook", "rb-001-entity-enrichment") == ["rb-001-entity-enrichment"]
    assert ids("--status", "failure") == []
    assert ids("--since", "1h") == ids() and ids("--since", "2999-01-01") == []
    first = json.loads(rb("runs", "list", "--format", "json", db=db).stdout)[-1]["id"]
    a = rb("replay", first, "--format", "json", db=db).stdout
    b = rb("replay", first, "--format", "json", db=db).stdout
    assert a == b and json.loads(a)["execution_id"] == first
    text = rb("runs", "list", db=db).stdout.splitlines()
    assert text[0].split() == [
        "ID",
        "RUNBOOK",
        "KIND",
        "STATUS",
        "RECORDED",
        "(UTC)",
        "TIME",
        "ACTOR",
    ]
    assert len(text) == 5  # header, two runs, two replays


def test_schema_revision_constant_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from rb.store.database import MIGRATIONS, SCHEMA_REVISION

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_a_store_of_the_first_revision_upgrades_and_keeps_its_runs(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    from rb.store.database import MIGRATIONS, open_store
    from rb.store.tables import executions

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url, migrate=False)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with store.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO runbook_executions (id, runbook_id, runbook_version, started_at,"
            " recorded_at, status, actor_id, world, definition, definition_hash,"
            " definition_path, metadata) VALUES ('e1', 'rb', '1', '2026-01-01', '2026-01-01',"
            " 'success', 'me', 'live', '', '', '', '{}')"
        )
    store.dispose()
    store = open_store(url)
    with store.connect() as conn:
        row = conn.execute(select(executions)).one()
    assert (row.id, row.status, row.run_attempt, row.waiting_for) == ("e1", "success", 1, None)
