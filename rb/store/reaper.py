"""Runs whose process died: marked `interrupted`, so they can be resumed.

Through the driver (Store.write), not SQLAlchemy: a recording command reaps
once, after its run, and should not import SQLAlchemy for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rb.store import lease
from rb.store.bulk import bulk_insert
from rb.store.database import Store
from rb.store.records import aware
from rb.store.row_specs import EXECUTIONS


def reap_interrupted(store: Store) -> list[str]:
    """Mark runs whose process is gone as `interrupted`; returns their ids."""
    now = datetime.now(UTC)
    insert = bulk_insert(EXECUTIONS, store.dialect, store.driver)
    with store.write() as conn:
        running = conn.query(
            f"SELECT id, lease, heartbeat_at FROM {EXECUTIONS} WHERE status = 'running'"
        )
        dead = [
            str(run_id)
            for run_id, held, beat in running
            if lease.is_dead(held, aware(_time(beat)), now)
        ]
        for run_id in dead:
            statement, params = insert.update(
                {"status": "interrupted", "completed_at": now}, "id", run_id
            )
            conn.execute(f"{statement} AND status = 'running'", params)
    return dead


def _time(value: datetime | str | None) -> datetime | None:
    """A stored time as a datetime (SQLite's driver hands back SQLAlchemy's text)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
