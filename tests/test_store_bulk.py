"""The recorder's fast path (its writer process) writes exactly what SQLAlchemy would."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from rb.store import json_text, writer_child, writer_process
from rb.store.bulk import CONVERSIONS, BulkInsert, bulk_insert
from rb.store.database import open_store
from rb.store.tables import audit, exchanges, executions, step_logs


@pytest.mark.parametrize("count", [1, 40], ids=["one row", "many rows (COPY on PostgreSQL)"])
def test_bulk_rows_read_back_as_sqlalchemy_rows_do(store_url: str, count: int) -> None:
    store = open_store(store_url)
    when = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
    run_id = str(uuid.uuid4())
    execution = {
        "id": run_id,
        "runbook_id": "rb-x",
        "runbook_version": "1.0.0",
        "started_at": when,
        "recorded_at": when,
        "status": "running",
        "actor_id": "ci",
        "world": "fixture",
        "definition": "id: rb-x\n",
        "definition_hash": "0" * 64,
        "definition_path": "rb-x.yaml",
        "metadata": {"params": {"n": 1}, "quote": 'it\'s "odd"\n\ttabbed\\'},
    }
    # Tricky values: text that COPY and multi-row VALUES must escape, nested JSON,
    # unicode, repeated values (converted once) followed by a different one, and
    # equal values of different types (1 == 1.0 == True) that must stay apart.
    steps = [
        {
            "execution_id": run_id,
            "step_id": f"s{i}",
            "seq": i,
            "started_at": when,
            "completed_at": when if i < 2 else datetime(2026, 11, 30, 12, 0, 1, tzinfo=UTC),
            "status": "succeeded",
            "attempts": 1,
            "duration_seconds": 0.25,
            "summary": "ok \\N\ttab\nnewline é",
            "inputs": {"url": "https://x/?a=1&b=%20", "n": [1, 1.0, True][i % 3]},
            "outputs": {"rows": [{"id": i, "name": None}], "empty": {}},
            "errors": None,
        }
        for i in range(count)
    ]
    exchange = {
        "execution_id": run_id,
        "seq": 1,
        "step_id": "s0",
        "attempt": 1,
        "kind": "http",
        "request": {"method": "GET", "url": "http://127.0.0.1/"},
        "response": None,
        "error": {"kind": "timeout", "message": "read timed out"},
        "latency_seconds": 0.5,
    }
    dialect = store.engine.dialect
    with store.begin() as conn:  # the execution's row: inserted by the recording process
        insert = BulkInsert.of(executions, dialect)
        insert.run(conn, insert.rows([execution]))
    # Steps and exchanges: by the writer process's code, on its own connection.
    driver, target, setup, *_ = writer_child._connection(store, {})
    database = writer_process._Database(driver, target, setup)
    try:
        for table, rows in ((step_logs, steps), (exchanges, [exchange])):
            insert = BulkInsert.of(table, dialect)
            database.insert(insert.statements(), insert.rows(rows))
    finally:
        database.conn.close()
    with store.begin() as conn:
        got_execution = conn.execute(executions.select()).one()._asdict()
        got_steps = [r._asdict() for r in conn.execute(step_logs.select().order_by("seq"))]
        got_exchange = conn.execute(exchanges.select()).one()._asdict()
    assert got_execution["metadata"] == execution["metadata"]
    assert got_execution["started_at"].replace(tzinfo=UTC) == when
    for want, got in zip(steps, got_steps, strict=True):
        assert {k: got[k] for k in ("summary", "inputs", "outputs", "errors", "status")} == {
            k: want[k] for k in ("summary", "inputs", "outputs", "errors", "status")
        }
        assert got["completed_at"].replace(tzinfo=UTC) == want["completed_at"]
        assert type(got["inputs"]["n"]) is type(want["inputs"]["n"])
    assert got_exchange["response"] is None
    assert got_exchange["error"] == exchange["error"]


@pytest.mark.parametrize(
    "value",
    [{"a": 1.0, "b": [1, True, None, 'é"\\'], "nan": float("nan")}, "text", 3, None, [], {}],
)
def test_stored_json_text_is_json_dumps(value: object) -> None:
    assert json_text.dumps(value) == json.dumps(value)


def test_stored_json_text_rejects_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text.dumps({"when": object()})


def test_each_conversion_is_sqlalchemys_own() -> None:
    """The recorder converts values without SQLAlchemy: exactly as its processors do."""
    from sqlalchemy import JSON, DateTime, Float
    from sqlalchemy.dialects.sqlite import pysqlite

    dialect = pysqlite.dialect(json_serializer=json_text.dumps)
    sqlalchemys = {
        "sqlite_time": DateTime(timezone=True),
        "float": Float(),
        "json": JSON(),
    }
    times = [
        datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5),
        datetime(2026, 1, 1, tzinfo=UTC),
    ]
    samples = {
        "sqlite_time": times,
        "float": [0.25, 3, True, -1e300],
        "json": [{"a": [1, 1.0, True, None, 'é"\\']}, "text", [], 3],
    }
    for kind, column in sqlalchemys.items():
        processor = column.dialect_impl(dialect).bind_processor(dialect)
        for value in samples[kind]:
            assert CONVERSIONS[kind](value) == processor(value), (kind, value)
    assert CONVERSIONS["iso"](times[0]) == "2026-11-30T12:00:00.123456+00:00"


def test_cached_specs_match_the_tables(store_url: str) -> None:
    """What the recorder reads from rb's cache is what SQLAlchemy compiles now."""
    store = open_store(store_url)
    for table in (executions, step_logs, exchanges, audit):
        cached = bulk_insert(table.name, store.dialect, store.driver)
        fresh = BulkInsert.of(table, store.engine.dialect)
        assert cached.statements() == fresh.statements()
        assert cached.columns == fresh.columns
