"""The audit trail: append-only records, each holding the hash of the one before.

A record's hash covers every field of it and its predecessor's hash, so an
edited, inserted or deleted record breaks the chain at that point
(`rb.store.audit_verify.verify`). Records are appended with the next
sequence number; the primary key makes two appenders that read the same
head collide, and the loser reads the new head and tries again, so the
chain never forks, in SQLite or PostgreSQL, without a lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rb.store.database import Store, StoreError, is_integrity_error
from rb.store.records import aware
from rb.store.row_specs import AUDIT

if TYPE_CHECKING:
    from rb.store.audit_verify import Verification

_HEAD = f"SELECT seq, hash FROM {AUDIT} ORDER BY seq DESC LIMIT 1"
GENESIS = "0" * 64  # the hash before the first record
_TRIES = 200  # appenders racing for one sequence number


@dataclass(frozen=True)
class AuditEntry:
    """What happened: who did what to what, from where, on what legal basis."""

    actor: str
    verified: bool  # the actor came from a token, not from a claim
    action: str  # trigger | approve | reject | cancel | publish | token.create ...
    subject: str  # an execution id, runbook@version, a token's name
    origin: str  # a client's address, or cli@host
    legal_basis: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)  # links to what proves it
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """A stored entry: its place in the chain, when, and the chain's hashes."""

    seq: int
    at: datetime  # UTC
    entry: AuditEntry
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The record as one JSON object (a line of `rb audit export`)."""
        return {
            "seq": self.seq,
            **_fields(self.at, self.entry),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _when(at: datetime) -> str:
    """A time as the chain hashes it: UTC, microseconds, however the driver returns it."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds") + "Z"


def _fields(at: datetime, entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": _when(at),
        "actor": entry.actor,
        "verified": entry.verified,
        "action": entry.action,
        "subject": entry.subject,
        "origin": entry.origin,
        "legal_basis": entry.legal_basis,
        "evidence": dict(entry.evidence),
        "details": dict(entry.details),
    }


def record_hash(seq: int, at: datetime, entry: AuditEntry, prev_hash: str) -> str:
    """The hash of a record: SHA-256 of its canonical JSON, predecessor's hash included."""
    canonical = json.dumps(
        {"seq": seq, **_fields(at, entry), "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(store: Store, entry: AuditEntry, *, at: datetime | None = None) -> AuditRecord:
    """Append `entry` to the chain and return it as stored."""
    from rb.store.bulk import bulk_insert

    # Through the driver, as the recorder writes: a recorded command then needs
    # no SQLAlchemy (rb/store/row_specs.py).
    insert = bulk_insert(AUDIT, store.dialect, store.driver)
    when = (at or datetime.now(UTC)).astimezone(UTC)
    for _ in range(_TRIES):
        try:
            # The head is read in a transaction of its own: an insert then
            # starts afresh, so a newer head shows up as a taken number.
            with store.write() as conn:
                found = conn.query(_HEAD)
            seq, prev = (int(found[0][0]) + 1, str(found[0][1])) if found else (1, GENESIS)
            digest = record_hash(seq, when, entry, prev)
            row = {
                **_fields(when, entry),
                "seq": seq,
                "at": when,
                "prev_hash": prev,
                "hash": digest,
            }
            with store.write() as conn:
                insert.run(conn, insert.rows([row]))
            return AuditRecord(seq, when, entry, prev, digest)
        except StoreError as exc:
            if not is_integrity_error(exc):
                raise
    raise StoreError(
        f"could not append to the audit trail of {store.shown}: too many writers at once"
    )


def verify(store: Store, *, head: str | None = None, count: int | None = None) -> Verification:
    """Check the chain: every hash, link and number; see `rb.store.audit_verify.verify`."""
    from rb.store.audit_verify import verify as check

    return check(store, head=head, count=count)


def records(store: Store, *, since: datetime | None = None) -> Iterator[AuditRecord]:
    """The stored records in chain order (from `since` on, when given)."""
    import sqlalchemy

    from rb.store.tables import audit

    query = sqlalchemy.select(audit).order_by(audit.c.seq)
    if since is not None:
        query = query.where(audit.c.at >= since.astimezone(UTC))
    return _read(store, query)


def latest(store: Store, limit: int) -> list[AuditRecord]:
    """The newest `limit` records, newest first."""
    import sqlalchemy

    from rb.store.tables import audit

    return list(_read(store, sqlalchemy.select(audit).order_by(audit.c.seq.desc()).limit(limit)))


def _read(store: Store, query: Any) -> Iterator[AuditRecord]:
    with store.connect() as conn:
        for row in conn.execute(query):
            at = aware(row.at)
            entry = AuditEntry(
                actor=row.actor,
                verified=bool(row.verified),
                action=row.action,
                subject=row.subject,
                origin=row.origin,
                legal_basis=row.legal_basis,
                evidence=row.evidence or {},
                details=row.details or {},
            )
            yield AuditRecord(int(row.seq), at, entry, row.prev_hash, row.hash)
