"""The store-backed inbox: decisions and events written by one process, read by another.

`rb approve`, `rb event send` and the API write here; a live run's approval
and wait_event steps read here (through `world.inbox`). Every statement uses
bound parameters, and the two races are settled by the database itself:
one decision per person per step (a unique constraint), and an event taken
by exactly one step (`UPDATE ... WHERE consumed_by IS NULL`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rb.errors import UsageError
from rb.store.database import Store, is_integrity_error
from rb.world.inbox import Decision, InboxEvent

EVENT_KEEP_SECONDS = 86_400.0  # how long an event waits for a step (rb event send --keep)


class DecisionRefused(UsageError):
    """A decision the store will not take: no such run or step, or already decided."""


@dataclass(frozen=True)
class WaitingRun:
    """A parked execution and what it waits for (from its waiting_for column)."""

    execution_id: str
    runbook_id: str
    actor: str
    waiting_for: tuple[dict[str, Any], ...]


def _now() -> datetime:
    return datetime.now(UTC)


class StoreInbox:
    """The Inbox of a live run, reading the store."""

    parks = True

    def __init__(self, store: Store) -> None:
        self.store = store

    def decisions(self, execution_id: str, step_id: str) -> Sequence[Decision]:
        from sqlalchemy import select

        from rb.store.tables import approvals as t

        query = (
            select(t.c.actor_id, t.c.decision, t.c.comment, t.c.decided_at)
            .where(t.c.execution_id == execution_id, t.c.step_id == step_id)
            .order_by(t.c.decided_at, t.c.id)
        )
        with self.store.begin() as conn:
            return tuple(Decision(*row) for row in conn.execute(query))

    def timed_out(self, step_id: str) -> bool:
        return False  # live: the deadline decides

    def trigger(self, execution_id: str) -> str | None:
        from sqlalchemy import select

        from rb.store.tables import executions as t

        with self.store.begin() as conn:
            actor = conn.execute(
                select(t.c.actor_id).where(t.c.id == execution_id)
            ).scalar_one_or_none()
        return None if actor is None else str(actor)

    def wait_started(self, execution_id: str, step_id: str) -> datetime | None:
        """The `wait.<step>.started` observation an earlier start of the run recorded."""
        from sqlalchemy import select

        from rb.store.tables import exchanges as t

        name = f"wait.{step_id}.started"
        query = (
            select(t.c.request, t.c.response)
            .where(t.c.execution_id == execution_id, t.c.kind == "observe")
            .order_by(t.c.seq)
        )
        with self.store.begin() as conn:
            for request, response in conn.execute(query):
                if _json(request).get("name") == name:
                    return datetime.fromisoformat(str(_json(response)["value"]))
        return None

    def take_event(self, execution_id: str, step_id: str, name: str, key: str) -> InboxEvent | None:
        from sqlalchemy import and_, select, update

        from rb.store.tables import events as t

        columns = (t.c.id, t.c.name, t.c.key, t.c.payload, t.c.actor_id, t.c.received_at)
        mine = and_(t.c.consumed_by == execution_id, t.c.consumed_step == step_id)
        free = and_(
            t.c.name == name, t.c.key == key, t.c.consumed_by.is_(None), t.c.expires_at > _now()
        )
        with self.store.begin() as conn:
            # An event this step took in an earlier start (the run stopped
            # before the step was recorded) is still its own.
            row = conn.execute(select(*columns).where(mine).order_by(t.c.id).limit(1)).first()
            if row is not None:
                return InboxEvent(*row[1:])
            candidates = conn.execute(
                select(*columns).where(free).order_by(t.c.received_at, t.c.id)
            ).all()
            for candidate in candidates:
                taken = conn.execute(
                    update(t)
                    .where(t.c.id == candidate.id, t.c.consumed_by.is_(None))
                    .values(consumed_by=execution_id, consumed_step=step_id, consumed_at=_now())
                )
                if taken.rowcount == 1:  # another run may have taken it first
                    return InboxEvent(*candidate[1:])
        return None


def record_decision(
    store: Store,
    execution_id: str,
    step_id: str,
    decision: str,
    *,
    actor: str,
    comment: str | None = None,
) -> None:
    """Keep one person's decision; a second one by the same person is refused."""
    import sqlalchemy

    from rb.store.tables import approvals as t

    row = {
        "execution_id": execution_id,
        "step_id": step_id,
        "decision": decision,
        "actor_id": actor,
        "comment": comment,
        "decided_at": _now(),
    }
    try:
        with store.begin() as conn:
            conn.execute(sqlalchemy.insert(t).values(**row))
    except Exception as exc:
        if is_integrity_error(exc):
            raise DecisionRefused(
                f"{actor} has already decided step {step_id!r} of {execution_id}"
            ) from None
        raise


def record_event(
    store: Store,
    name: str,
    key: str,
    payload: Any,
    *,
    actor: str,
    keep_seconds: float = EVENT_KEEP_SECONDS,
) -> int:
    """Keep an event for `keep_seconds` (or until a step takes it); its id."""
    import sqlalchemy

    from rb.store.tables import events as t

    now = _now()
    row = {
        "name": name,
        "key": key,
        "payload": payload,
        "actor_id": actor,
        "received_at": now,
        "expires_at": now + timedelta(seconds=keep_seconds),
    }
    with store.begin() as conn:
        result = conn.execute(sqlalchemy.insert(t).values(**row).returning(t.c.id))
        return int(result.scalar_one())


def waiting_runs(store: Store, execution_id: str | None = None) -> list[WaitingRun]:
    """Executions parked in state `waiting` (one, when `execution_id` is given)."""
    from sqlalchemy import select

    from rb.store.tables import executions as t

    query = select(t.c.id, t.c.runbook_id, t.c.actor_id, t.c.waiting_for).where(
        t.c.status == "waiting"
    )
    if execution_id is not None:
        query = query.where(t.c.id == execution_id)
    with store.begin() as conn:
        rows = conn.execute(query.order_by(t.c.recorded_at)).all()
    return [
        WaitingRun(r.id, r.runbook_id, r.actor_id, tuple(_json(r.waiting_for) or ())) for r in rows
    ]


def execution_info(store: Store, execution_id: str) -> tuple[str, str, str] | None:
    """(status, actor, definition) of an execution, or None when there is none."""
    from sqlalchemy import select

    from rb.store.tables import executions as t

    query = select(t.c.status, t.c.actor_id, t.c.definition).where(t.c.id == execution_id)
    with store.begin() as conn:
        row = conn.execute(query).first()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def _json(value: Any) -> Any:
    """JSON columns come back parsed on PostgreSQL, and may be text on SQLite."""
    return json.loads(value) if isinstance(value, str) else (value or {})
