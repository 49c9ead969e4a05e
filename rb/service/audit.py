"""Recording actions in the audit trail, and reading it back: one place for the CLI and the server.

Where an action is recorded: the server records its own (the actor is the
token's identity); the CLI records each command's action in the command, the
actor being `cli_actor(--actor)`, unverified. An action is recorded in the
store the run is recorded in: a run with --no-record is audited only in a
store that already exists (`store_for_audit`), so that not recording a run
never creates a database, yet never hides a live run from an existing trail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from rb.service.identity import Actor
from rb.store.audit import AuditEntry, AuditRecord, append
from rb.store.database import Store

if TYPE_CHECKING:
    from rb.engine.outcome import ExecutionResult
    from rb.store.audit_verify import Verification

ACTIONS = ("trigger", "approve", "reject", "cancel", "pause", "resume", "retry", "event")


def record_action(
    store: Store,
    actor: Actor,
    action: str,
    subject: str,
    *,
    legal_basis: str | None = None,
    evidence: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append `actor`'s `action` on `subject` to the store's audit trail."""
    entry = AuditEntry(
        actor=actor.name,
        verified=actor.verified,
        action=action,
        subject=subject,
        origin=actor.origin,
        legal_basis=legal_basis or None,
        evidence=evidence or {},
        details=details or {},
    )
    return append(store, entry)


def run_evidence(execution_id: str, result: ExecutionResult | None = None) -> dict[str, Any]:
    """Links to what a run left: its execution, its outputs' names per step, its screenshots.

    Only names and paths: the values are in the execution's record (masked),
    and an audit record must not copy what a secret may have touched.
    """
    evidence: dict[str, Any] = {"execution": execution_id}
    if result is None:
        return evidence
    outputs = result.outputs()
    evidence["status"] = result.status
    evidence["outputs"] = {step: sorted(values) for step, values in outputs.items() if values}
    shots = [str(v["screenshot"]) for v in outputs.values() if isinstance(v.get("screenshot"), str)]
    if shots:
        evidence["screenshots"] = shots
    return evidence


def record_on_execution(
    store: Store,
    actor: Actor,
    action: str,
    execution_id: str,
    *,
    result: ExecutionResult | None = None,
    legal_basis: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Record an action on an execution: its runbook's legal basis (from the execution's
    record unless given) and links to its evidence (`run_evidence`)."""
    if legal_basis is None:
        legal_basis = legal_basis_of(store, execution_id)
    return record_action(
        store,
        actor,
        action,
        execution_id,
        legal_basis=legal_basis,
        evidence=run_evidence(execution_id, result),
        details=details,
    )


def legal_basis_of(store: Store, execution_id: str) -> str | None:
    """The legal basis the execution's runbook declared, as recorded with it."""
    from rb.store.queries import metadata_of

    meta = metadata_of(store, execution_id) or {}
    return meta.get("legal_basis") or None


def store_for_audit(db: str | None, *, recorded: bool) -> Store | None:
    """The store a CLI action is audited in: the run's own; for an unrecorded run, one
    that exists already and answers (a SQLite file on disk, or a server database),
    else None: not recording a run never creates a database."""
    from pathlib import Path

    from rb.store.database import StoreError, open_store

    if recorded:
        return open_store(db)
    path = open_store(db, migrate=False).sqlite_path  # None for a server database
    if path is not None and not Path(path).is_file():
        return None
    try:
        return open_store(db)
    except StoreError:
        return None


def verify_trail(
    db: str | None, *, head: str | None = None, count: int | None = None
) -> tuple[str, Verification]:
    """Check the audit trail of the store at `db` (against an anchor's `head` and
    `count` when given): the store as shown, and the outcome."""
    from rb.store.audit import verify
    from rb.store.database import open_store

    store = open_store(db)
    return store.shown, verify(store, head=head, count=count)


def export_since(db: str | None, since: str | None) -> Iterator[AuditRecord]:
    """The records from `since` on (30m, 2h, 7d or an ISO time; None: all), oldest first."""
    from rb.service.runs import parse_since
    from rb.store.audit import records
    from rb.store.database import open_store

    return records(open_store(db), since=parse_since(since) if since else None)


def recent(db: str | None, limit: int) -> tuple[str, list[AuditRecord]]:
    """The newest `limit` records, newest first, and the store as shown."""
    from rb.store.audit import latest
    from rb.store.database import open_store

    store = open_store(db)
    return store.shown, latest(store, limit)
