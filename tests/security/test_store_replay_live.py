"""`rb replay --live` re-runs only what the database itself agrees is a read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from ..conftest import run_rb


def _replay(book: str, tmp_path: Path) -> list[str]:
    (tmp_path / "rb.yaml").write_text(book)
    db = f"sqlite:///{tmp_path}/store.db"
    ran = run_rb("run", "rb.yaml", "--db", db, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return run_rb("replay", "last", "--live", "--db", db, cwd=tmp_path).stdout.splitlines()


def test_writes_that_start_like_reads_are_not_re_run_on_postgres(
    postgres_url: str, pg_table: str, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {pg_table} (id serial, name text)")
    book = f"""\
id: writes
name: Writes that look like reads
version: "1"
steps:
  - id: purge
    type: sql_query
    inputs:
      database_url: "{postgres_url}"
      query: "WITH d AS (DELETE FROM {pg_table} RETURNING id) SELECT count(*) AS n FROM d"
  - id: ticket
    type: sql_query
    depends_on: [purge]
    inputs:
      database_url: "{postgres_url}"
      query: "SELECT nextval('{pg_table}_id_seq') AS v"
  - id: count
    type: sql_query
    depends_on: [ticket]
    inputs: {{database_url: "{postgres_url}", query: "SELECT count(*) AS n FROM {pg_table}"}}
"""
    (tmp_path / "rb.yaml").write_text(book)
    db = f"sqlite:///{tmp_path}/store.db"
    assert run_rb("run", "rb.yaml", "--db", db, cwd=tmp_path).returncode == 0
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {pg_table} (name) VALUES ('kept'), ('kept too')")
    lines = run_rb("replay", "last", "--live", "--db", db, cwd=tmp_path).stdout.splitlines()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT id, name FROM {pg_table} ORDER BY id").fetchall()
    # Nothing deleted, no number taken from the sequence (the run took 1; the inserts 2, 3).
    assert rows == [(2, "kept"), (3, "kept too")]
    assert lines[0].startswith("- Exchange 1 (purge): SQL WITH d AS (DELETE")
    assert "not re-sent: the database refused it as a write" in lines[0]
    assert lines[1].startswith("- Exchange 2 (ticket)") and "refused it as a write" in lines[1]
    assert lines[2].startswith("✗ Exchange 3 (count)")  # a real read, re-run: 0 then, 2 now


def test_writes_that_start_like_reads_are_not_re_run_on_sqlite(tmp_path: Path) -> None:
    data = tmp_path / "data.db"
    with sqlite3.connect(data) as conn:
        conn.execute("CREATE TABLE t (name TEXT)")
    book = f"""\
id: writes
name: Writes that look like reads
version: "1"
steps:
  - id: add
    type: sql_query
    inputs:
      database_url: "sqlite:///{data}"
      query: "WITH v AS (SELECT 'added' AS name) INSERT INTO t SELECT name FROM v"
"""
    lines = _replay(book, tmp_path)
    with sqlite3.connect(data) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)  # the run's row only
    assert lines[0].startswith("- Exchange 1 (add): SQL WITH v AS")
    assert "not re-sent: the database refused it as a write" in lines[0]
