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

if TYPE_CHECKING:
    from rb.store.audit_verify import Verification

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
    import sqlalchemy

    from rb.store.tables import audit

    when = (at or datetime.now(UTC)).astimezone(UTC)
    last = sqlalchemy.select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1)
    for _ in range(_TRIES):
        try:
            with store.begin() as conn:
                head = conn.execute(last).first()
                seq, prev = (int(head.seq) + 1, str(head.hash)) if head else (1, GENESIS)
                digest = record_hash(seq, when, entry, prev)
                conn.execute(
                    audit.insert().values(
                        seq=seq,
                        at=when,
                        actor=entry.actor,
                        verified=entry.verified,
                        action=entry.action,
                        subject=entry.subject,
                        origin=entry.origin,
                        legal_basis=entry.legal_basis,
                        evidence=dict(entry.evidence),
                        details=dict(entry.details),
                        prev_hash=prev,
                        hash=digest,
                    )
                )
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
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
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
