"""Idempotency keys and concurrency slots in the store (SQLite and PostgreSQL).

Both are exact under any number of concurrent triggers because a primary key
decides: the INSERT of an idempotency key, or of slot i of a concurrency key,
succeeds for exactly one of them. Every other statement here only reads,
repoints or frees rows. rb/service/keys.py says when each is called.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from rb.model import Runbook
from rb.store import lease
from rb.store.database import Store
from rb.store.records import aware
from rb.store.tables import concurrency, executions, idempotency

T = TypeVar("T")

# An execution in one of these states holds no concurrency slot. `waiting`
# is not among them: a failover parked for an approval keeps its cluster.
FINAL = ("success", "failure", "aborted", "cancelled", "interrupted", "timed_out")
# States whose process must be alive: a slot held by one whose process died is freed.
ALIVE = ("queued", "running")


@dataclass(frozen=True)
class KeyRow:
    """An idempotency key as stored: what it was first used for."""

    runbook_id: str
    params_hash: str
    execution_id: str | None  # None while the first trigger has not started its run
    created_at: datetime


def claim_key(
    store: Store, key: str, runbook_id: str, params_hash: str, retention: timedelta
) -> KeyRow | None:
    """Take `key` for a new run (None), or return the row of whoever took it first.

    An expired key is replaced. Loops only when the key it lost to expired
    between the INSERT and the read.
    """
    import sqlalchemy

    while True:
        now = datetime.now(UTC)
        with store.begin() as conn:
            conn.execute(
                idempotency.delete().where(
                    idempotency.c.key == key, idempotency.c.expires_at <= now
                )
            )
        row = {
            "key": key,
            "runbook_id": runbook_id,
            "params_hash": params_hash,
            "execution_id": None,
            "created_at": now,
            "expires_at": now + retention,
        }
        with store.connect() as conn:
            try:
                with conn.begin():
                    conn.execute(idempotency.insert().values(**row))
                return None
            except sqlalchemy.exc.IntegrityError:
                pass  # taken: read whose it is (in a transaction of its own)
        found = read_key(store, key)
        if found is not None:
            return found


def read_key(store: Store, key: str) -> KeyRow | None:
    """The key's row, if it is stored and has not expired."""
    with store.begin() as conn:
        row = conn.execute(
            idempotency.select().where(
                idempotency.c.key == key, idempotency.c.expires_at > datetime.now(UTC)
            )
        ).first()
    if row is None:
        return None
    return KeyRow(row.runbook_id, row.params_hash, row.execution_id, aware(row.created_at))


def drop_key(store: Store, key: str, *, unless_started: bool = True) -> None:
    """Forget a key whose run never started, so that a new trigger may start it."""
    query = idempotency.delete().where(idempotency.c.key == key)
    if unless_started:
        query = query.where(
            idempotency.c.execution_id.is_(None)
            | idempotency.c.execution_id.in_(
                executions.select()
                .with_only_columns(executions.c.id)
                .where(executions.c.status == "queued")
            )
        )
    with store.begin() as conn:
        conn.execute(query)


def status_of(store: Store, execution_id: str) -> str | None:
    """An execution's status (None when there is no such execution)."""
    with store.begin() as conn:
        value = conn.execute(
            executions.select()
            .with_only_columns(executions.c.status)
            .where(executions.c.id == execution_id)
        ).scalar()
    return None if value is None else str(value)


def add_queued(
    store: Store,
    execution_id: str,
    runbook: Runbook,
    *,
    actor: str,
    world: str,
    params: Mapping[str, Any],
    concurrency_key: str | None,
    idempotency_key: str | None,
    queue: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    then: Callable[[Any], T] | None = None,
) -> T | None:
    """Record a run that waits, as status `queued`: for a concurrency slot, or
    (with `queue`) for an `rb worker` to take its job off the queue.

    It holds the slot once it has one, and the idempotency key at once; when
    the run starts it records into this row (status `running`, the same id).
    `metadata` adds to what the row records (the queue's: docs/scaling.md).
    `then(connection)` runs in the same transaction (the queue's job is
    deferred there: the row and its job are committed together, or neither).
    """
    now = datetime.now(UTC)
    text = runbook.source.text
    row = {
        "id": execution_id,
        "runbook_id": runbook.id,
        "runbook_version": runbook.version,
        "started_at": now,
        "recorded_at": now,
        "status": "queued",
        "actor_id": actor,
        "world": world,
        "definition": text,
        "definition_hash": hashlib.sha256(text.encode()).hexdigest(),
        "definition_path": runbook.source.path,
        "lease": lease.current() if queue is None else lease.held_by_queue(queue),
        "heartbeat_at": now,
        "metadata": {
            "name": runbook.name,
            "params": dict(params),
            "error": None,
            **(metadata or {}),
        },
        "run_attempt": 1,
        "waiting_for": [
            {"kind": "queue", "queue": queue}
            if queue is not None
            else {"kind": "concurrency", "key": concurrency_key}
        ],
        "concurrency_key": concurrency_key,
        "idempotency_key": idempotency_key,
    }
    with store.begin() as conn:
        # Values as parameters, not in the statement: its compiled form is cached.
        conn.execute(executions.insert(), row)
        if idempotency_key is not None:
            conn.execute(
                idempotency.update()
                .where(idempotency.c.key == idempotency_key)
                .values(execution_id=execution_id)
            )
        return None if then is None else then(conn.connection.driver_connection)


def beat(store: Store, execution_id: str) -> None:
    """A queued run's process is alive (read by other hosts, see rb/store/lease.py)."""
    with store.begin() as conn:
        conn.execute(
            executions.update()
            .where(executions.c.id == execution_id)
            .values(heartbeat_at=datetime.now(UTC))
        )


def take_slot(store: Store, key: str, limit: int, execution_id: str) -> int | None:
    """Take a free slot of `key` for `execution_id`: its number, or None when all are held.

    Slots whose holder reached a final state, or whose process died while
    queued or running, are freed first.
    """
    import sqlalchemy

    free_stale_slots(store, key)
    for slot in range(limit):
        with store.connect() as conn:
            try:
                with conn.begin():
                    conn.execute(
                        concurrency.insert().values(
                            key=key,
                            slot=slot,
                            execution_id=execution_id,
                            acquired_at=datetime.now(UTC),
                        )
                    )
                return slot
            except sqlalchemy.exc.IntegrityError:
                continue  # held: try the next one
    return None


def free_stale_slots(store: Store, key: str) -> list[str]:
    """Free the slots of `key` no live run holds; returns the holders let go.

    A holder that died while queued or running is marked `interrupted`, as
    rb/store/queries.py reap_interrupted does for running ones.
    """
    now = datetime.now(UTC)
    with store.begin() as conn:
        _reap_queued(conn, key, now)
        held = conn.execute(_holders().where(concurrency.c.key == key)).all()
        stale = [
            r.execution_id
            for r in held
            if r.status is None
            or r.status in FINAL
            or (r.status in ALIVE and lease.is_dead(r.lease, aware(r.heartbeat_at), now))
        ]
        if not stale:
            return []
        dead = [r.execution_id for r in held if r.execution_id in stale and r.status in ALIVE]
        if dead:
            conn.execute(
                executions.update()
                .where(executions.c.id.in_(dead), executions.c.status.in_(ALIVE))
                .values(status="interrupted", completed_at=now, waiting_for=None)
            )
        conn.execute(
            concurrency.delete().where(
                concurrency.c.key == key, concurrency.c.execution_id.in_(stale)
            )
        )
    return stale


def _reap_queued(conn: Any, key: str, now: datetime) -> None:
    """Runs of `key` left `queued` by a process that died waiting become `interrupted`."""
    queued = conn.execute(
        executions.select()
        .with_only_columns(executions.c.id, executions.c.lease, executions.c.heartbeat_at)
        .where(executions.c.status == "queued", executions.c.concurrency_key == key)
    ).all()
    dead = [r.id for r in queued if lease.is_dead(r.lease, aware(r.heartbeat_at), now)]
    if dead:
        conn.execute(
            executions.update()
            .where(executions.c.id.in_(dead), executions.c.status == "queued")
            .values(status="interrupted", completed_at=now, waiting_for=None)
        )


def _holders() -> Any:
    """Slot rows with their holder's status, lease and heartbeat."""
    joined = concurrency.outerjoin(executions, executions.c.id == concurrency.c.execution_id)
    return (
        concurrency.select()
        .select_from(joined)
        .with_only_columns(
            concurrency.c.execution_id,
            executions.c.status,
            executions.c.lease,
            executions.c.heartbeat_at,
        )
    )


def point_key(store: Store, key: str, execution_id: str) -> None:
    """The run with this idempotency key is recorded as `execution_id` (one with no
    queued record: `add_queued` points the key at the queued one at once)."""
    with store.begin() as conn:
        conn.execute(
            executions.update().where(executions.c.id == execution_id).values(idempotency_key=key)
        )
        conn.execute(
            idempotency.update().where(idempotency.c.key == key).values(execution_id=execution_id)
        )


def release_slots(store: Store, execution_id: str) -> None:
    """Free the slots `execution_id` holds, unless it is still going or waiting."""
    with store.begin() as conn:
        status = conn.execute(
            executions.select()
            .with_only_columns(executions.c.status)
            .where(executions.c.id == execution_id)
        ).scalar()
        if status is None or status in FINAL:
            conn.execute(concurrency.delete().where(concurrency.c.execution_id == execution_id))


def drop_queued(store: Store, execution_id: str) -> None:
    """A queued run that never started (refused, interrupted): its record and slot go."""
    with store.begin() as conn:
        conn.execute(
            executions.delete().where(
                executions.c.id == execution_id, executions.c.status == "queued"
            )
        )
