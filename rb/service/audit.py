"""Recording actions in the audit trail: one call for the CLI and the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rb.service.identity import Actor
from rb.store.audit import AuditEntry, AuditRecord, append
from rb.store.database import Store


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
