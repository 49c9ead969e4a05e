"""Reading runs back: lists, one run in full, and the interrupted ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.engine import Connection, Dialect

from rb.errors import UsageError
from rb.store import lease
from rb.store.database import Store
from rb.store.records import Execution, aware
from rb.store.tables import exchanges, executions, step_logs


def reap_interrupted(store: Store) -> list[str]:
    """Mark runs whose process is gone as `interrupted`; returns their ids."""
    now = datetime.now(UTC)
    with store.begin() as conn:
        running = conn.execute(
            executions.select()
            .with_only_columns(executions.c.id, executions.c.lease, executions.c.heartbeat_at)
            .where(executions.c.status == "running")
        ).all()
        dead = [r.id for r in running if lease.is_dead(r.lease, aware(r.heartbeat_at), now)]
        if dead:
            conn.execute(
                executions.update()
                .where(executions.c.id.in_(dead), executions.c.status == "running")
                .values(status="interrupted", completed_at=now)
            )
    return dead


def list_runs(
    store: Store,
    *,
    runbook: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[Execution]:
    """Newest first, filtered; without their steps and exchanges."""
    query = executions.select().order_by(executions.c.recorded_at.desc(), executions.c.id)
    if runbook:
        query = query.where(executions.c.runbook_id == runbook)
    if status:
        query = query.where(executions.c.status == status)
    if since:
        query = query.where(executions.c.recorded_at >= since)
    with store.begin() as conn:
        return [Execution.from_rows(r._mapping) for r in conn.execute(query.limit(limit))]


def resolve_id(store: Store, ref: str) -> str:
    """A full id from an id, a unique prefix, or `last` (the newest run that is not a replay)."""
    with store.begin() as conn:
        if ref == "last":
            # A replay proves a run; replaying the proof would prove nothing new.
            found: Sequence[Any] = conn.execute(
                executions.select()
                .with_only_columns(executions.c.id)
                .where(executions.c.world != "replay")
                .order_by(executions.c.recorded_at.desc())
                .limit(1)
            ).all()
            if not found:
                raise UsageError(f"no runs recorded yet in {store.shown} (replays aside)")
            return str(found[0].id)
        found = conn.execute(
            executions.select()
            .with_only_columns(executions.c.id)
            .where(executions.c.id.startswith(ref, autoescape=True))
            .limit(2)
        ).all()
    if not found:
        raise UsageError(f"no run {ref!r} in {store.shown} (see rb runs list)")
    if len(found) > 1:
        raise UsageError(f"{ref!r} matches several runs; give more of the id")
    return str(found[0].id)


def load_run(store: Store, ref: str) -> Execution:
    """One run with its step logs and exchanges, in order."""
    run = get_run(store, resolve_id(store, ref))
    assert run is not None  # resolve_id found it
    return run


class _RowsByKey:
    """`SELECT` a table's rows whose `key` column has one value, through the driver.

    The server reads every run it answers with, and SQLAlchemy's per-call work
    (building, caching and binding the statement, wrapping each row) costs more
    than SQLite takes to run the query. The SQL is compiled once per dialect,
    and each value is converted by its column's own result processor, so rows
    come back exactly as SQLAlchemy would return them.
    """

    def __init__(self, table: Table, key: str, dialect: Dialect, order_by: str | None) -> None:
        statement = table.select().where(table.c[key] == bindparam("key"))
        if order_by is not None:
            statement = statement.order_by(table.c[order_by])
        sql = statement.compile(dialect=dialect).string
        self.sql = sql.replace("%(key)s", "%s")  # psycopg's named style, positionally
        self.names = tuple(c.name for c in table.columns)
        self._types = tuple(c.type.dialect_impl(dialect) for c in table.columns)
        self._dialect = dialect
        self._processors: tuple[tuple[int, Any], ...] | None = None

    def rows(self, conn: Connection, value: Any) -> list[dict[str, Any]]:
        """The rows, each as a dict by column name."""
        result = conn.exec_driver_sql(self.sql, (value,))
        if self._processors is None:  # the driver's type codes are known now
            codes = [d[1] for d in result.cursor.description]
            found = (
                t.result_processor(self._dialect, c)
                for t, c in zip(self._types, codes, strict=True)
            )
            self._processors = tuple((i, p) for i, p in enumerate(found) if p is not None)
        names, processors = self.names, self._processors
        rows = []
        for raw in result.fetchall():
            values = list(raw)
            for i, process in processors:
                values[i] = process(values[i])
            rows.append(dict(zip(names, values, strict=True)))
        return rows


_READERS: dict[tuple[str, str, str], _RowsByKey] = {}


def _reader(table: Table, key: str, dialect: Dialect, order_by: str | None = None) -> _RowsByKey:
    found = _READERS.get((table.name, dialect.name, dialect.driver))
    if found is None:
        found = _READERS[(table.name, dialect.name, dialect.driver)] = _RowsByKey(
            table, key, dialect, order_by
        )
    return found


def get_run(store: Store, run_id: str, *, with_exchanges: bool = True) -> Execution | None:
    """The run with exactly this id (None if there is none), its steps in order.

    Without `with_exchanges` its exchanges are left out: enough to show the run,
    and much less to read for a run that fetched large documents.
    """
    dialect = store.engine.dialect
    with store.begin() as conn:
        found = _reader(executions, "id", dialect).rows(conn, run_id)
        if not found:
            return None
        steps = _reader(step_logs, "execution_id", dialect, "seq").rows(conn, run_id)
        calls: Sequence[Any] | None = None
        if with_exchanges:
            calls = _reader(exchanges, "execution_id", dialect, "seq").rows(conn, run_id)
    return Execution.from_rows(
        found[0], latest_logs(tuple(steps)), None if calls is None else tuple(calls)
    )


def latest_logs(rows: Sequence[Any]) -> tuple[Any, ...]:
    """Each step's latest log (highest run_attempt), in the order steps finished.

    A resumed or retried execution logs a step again in its new start; the
    earlier log stays in the store, for the audit, but no longer describes it.
    """
    latest: dict[str, Any] = {}
    for r in rows:
        kept = latest.get(r["step_id"])
        if kept is None or (r["run_attempt"] or 1, r["seq"]) >= (
            kept["run_attempt"] or 1,
            kept["seq"],
        ):
            latest[r["step_id"]] = r
    return tuple(sorted(latest.values(), key=lambda r: r["seq"]))


def _metadata(conn: Any, run_id: str) -> dict[str, Any] | None:
    found = conn.execute(
        executions.select()
        .with_only_columns(executions.c.metadata)
        .where(executions.c.id == run_id)
    ).scalar()
    return None if found is None else dict(found)


def metadata_of(store: Store, run_id: str) -> dict[str, Any] | None:
    """A recorded run's metadata (None: no such run)."""
    with store.begin() as conn:
        return _metadata(conn, run_id)


def fail_queued(store: Store, run_id: str, error: str) -> bool:
    """End a `queued` run that cannot start as a failure saying why; False if it
    was no longer queued (a worker took it, or it was cancelled)."""
    with store.begin() as conn:
        current = _metadata(conn, run_id) or {}
        changed = conn.execute(
            executions.update()
            .where(executions.c.id == run_id, executions.c.status == "queued")
            .values(
                status="failure",
                completed_at=datetime.now(UTC),
                waiting_for=None,
                lease=None,
                metadata={**current, "error": error},
            )
        ).rowcount
    return bool(changed)


def add_metadata(store: Store, run_id: str, **values: Any) -> None:
    """Merge `values` into a recorded run's metadata (e.g. a replay's verdict)."""
    with store.begin() as conn:
        current = conn.execute(
            executions.select()
            .with_only_columns(executions.c.metadata)
            .where(executions.c.id == run_id)
        ).scalar_one()
        conn.execute(
            executions.update()
            .where(executions.c.id == run_id)
            .values(metadata={**current, **values})
        )
