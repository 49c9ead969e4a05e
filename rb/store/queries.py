"""Reading runs back: lists, one run in full, and the interrupted ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam

from rb.errors import UsageError
from rb.store.database import Store
from rb.store.reaper import reap_interrupted as reap_interrupted  # where commands find it
from rb.store.records import Execution
from rb.store.tables import exchanges, executions, step_logs


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


# Built once: a statement built per call costs more than SQLite takes to run it
# (the server reads every run it answers with; SQLAlchemy caches the compiled SQL).
_RUN_BY_ID = executions.select().where(executions.c.id == bindparam("run_id"))
_STEPS_OF_RUN = (
    step_logs.select()
    .where(step_logs.c.execution_id == bindparam("run_id"))
    .order_by(step_logs.c.seq)
)
_EXCHANGES_OF_RUN = (
    exchanges.select()
    .where(exchanges.c.execution_id == bindparam("run_id"))
    .order_by(exchanges.c.seq)
)


def get_run(store: Store, run_id: str, *, with_exchanges: bool = True) -> Execution | None:
    """The run with exactly this id (None if there is none), its steps in order.

    Without `with_exchanges` its exchanges are left out: enough to show the run,
    and much less to read for a run that fetched large documents.
    """
    which = {"run_id": run_id}
    with store.begin() as conn:
        row = conn.execute(_RUN_BY_ID, which).one_or_none()
        if row is None:
            return None
        steps = conn.execute(_STEPS_OF_RUN, which).all()
        calls: Sequence[Any] | None = None
        if with_exchanges:
            calls = conn.execute(_EXCHANGES_OF_RUN, which).all()
    return Execution.from_rows(
        row._mapping,
        latest_logs(tuple(s._mapping for s in steps)),
        None if calls is None else tuple(c._mapping for c in calls),
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


def runbook_of(store: Store, run_id: str) -> str | None:
    """The id of the runbook a recorded run ran (None: no such run)."""
    found = runbook_and_environment(store, run_id)
    return None if found is None else found[0]


def runbook_and_environment(store: Store, run_id: str) -> tuple[str, str | None] | None:
    """The runbook a recorded run ran and the environment it ran for (None: no such run)."""
    with store.connect() as conn:
        found = conn.execute(
            executions.select()
            .with_only_columns(executions.c.runbook_id, executions.c.metadata)
            .where(executions.c.id == run_id)
        ).first()
    if found is None:
        return None
    environment = (found.metadata or {}).get("environment")
    return str(found.runbook_id), str(environment) if environment else None


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
