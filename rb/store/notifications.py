"""The notifications a run sent, or under a fixture would have sent (runbook_notifications).

A row keeps the target as written (its `${secrets.NAME}` references, never
their values), the message, how delivery went and how many attempts it took.
Rows are written after the run's own record, so the execution row they
belong to always exists; parked runs are read here for the
`waiting_too_long` event (rb.service.notify).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rb.store.database import Store
from rb.store.records import aware


@dataclass(frozen=True)
class NotificationRow:
    """One notification of one execution, as stored."""

    event: str  # failure | success | approval_needed | waiting_too_long
    channel: str  # the target as written, secrets masked
    title: str
    body: str
    status: str  # sent | failed | recorded
    attempts: int
    at: datetime
    error: str | None = None
    step_id: str | None = None  # the waiting step, for the two waiting events

    def to_json(self) -> dict[str, Any]:
        """As `rb runs show --format json` and acceptance reports show it."""
        return {
            "event": self.event,
            "channel": self.channel,
            "step_id": self.step_id,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "title": self.title,
            "at": self.at.isoformat(),
        }


def append(store: Store, execution_id: str, rows: Iterable[NotificationRow]) -> None:
    """Store `rows` for an execution whose record exists (StoreError when it cannot)."""
    from sqlalchemy import insert

    from rb.store.tables import notifications

    values = [
        {
            "execution_id": execution_id,
            "event": r.event,
            "step_id": r.step_id,
            "channel": r.channel,
            "title": r.title,
            "body": r.body,
            "status": r.status,
            "attempts": r.attempts,
            "error": r.error,
            "at": r.at,
        }
        for r in rows
    ]
    if not values:
        return
    with store.begin() as conn:
        conn.execute(insert(notifications), values)


def of_execution(store: Store, execution_id: str) -> list[NotificationRow]:
    """An execution's notifications, oldest first."""
    from sqlalchemy import select

    from rb.store.tables import notifications as t

    query = select(t).where(t.c.execution_id == execution_id).order_by(t.c.id)
    with store.begin() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        NotificationRow(
            event=r["event"],
            channel=r["channel"],
            title=r["title"],
            body=r["body"],
            status=r["status"],
            attempts=r["attempts"],
            at=aware(r["at"]),
            error=r["error"],
            step_id=r["step_id"],
        )
        for r in rows
    ]


def already_sent(store: Store, execution_id: str, event: str, step_id: str | None) -> set[str]:
    """The channels an execution already has a notification for, for `event` at `step_id`
    (the waiting events are sent once per run and step, however often it parks)."""
    from sqlalchemy import select

    from rb.store.tables import notifications as t

    query = select(t.c.channel).where(
        t.c.execution_id == execution_id, t.c.event == event, t.c.step_id == step_id
    )
    with store.begin() as conn:
        return {str(c) for c in conn.execute(query).scalars()}


@dataclass(frozen=True)
class ParkedRun:
    """A live run parked at a wait: since when, and what it waits for."""

    execution_id: str
    definition: str
    definition_path: str
    since: datetime  # when its last start parked it
    waiting_for: tuple[Mapping[str, Any], ...]


def parked_live_runs(store: Store) -> list[ParkedRun]:
    """Live executions in state `waiting`, with the time they parked."""
    from sqlalchemy import select

    from rb.store.tables import executions as t

    query = select(
        t.c.id, t.c.definition, t.c.definition_path, t.c.heartbeat_at, t.c.waiting_for
    ).where(t.c.status == "waiting", t.c.world == "live")
    with store.begin() as conn:
        rows = conn.execute(query).all()
    return [
        ParkedRun(
            r.id, r.definition, r.definition_path, aware(r.heartbeat_at), _waits(r.waiting_for)
        )
        for r in rows
        if r.heartbeat_at is not None
    ]


def _waits(value: Any) -> tuple[Mapping[str, Any], ...]:
    """The waiting_for column: parsed on PostgreSQL, maybe text on SQLite."""
    import json

    parsed = json.loads(value) if isinstance(value, str) else value
    return tuple(parsed or ())
