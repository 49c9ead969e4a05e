"""Audit records of API actions, under the identity of the caller's token.

Each is written once the action has been done (a trigger once its execution
has an id), with the runbook's legal basis and a link to the execution. A
record that cannot be written is logged as an error; the action stands.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from rb.errors import RbError
from rb.server.state import Server
from rb.service.audit import record_action
from rb.service.identity import Actor

log = logging.getLogger("rb.server")


async def audit(
    server: Server,
    actor: Actor,
    action: str,
    subject: str,
    *,
    execution_id: str | None = None,
    runbook_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append `actor`'s `action` on `subject`; the runbook is the execution's unless given."""

    def write() -> None:
        from rb.store.queries import runbook_of

        store = server.store.ready()
        found = runbook_id or (runbook_of(store, execution_id) if execution_id else None)
        record_action(
            store,
            actor,
            action,
            subject,
            legal_basis=legal_basis(server, found),
            evidence={"execution": f"/api/executions/{execution_id}"} if execution_id else {},
            details=details,
        )

    try:
        await run_in_threadpool(write)
    except RbError as exc:
        log.error(
            "the audit record of %s %s by %s was not written: %s", action, subject, actor.name, exc
        )


def legal_basis(server: Server, runbook_id: str | None) -> str | None:
    """The legal basis the runbook declares (None when it is unknown or declares none)."""
    if runbook_id is None:
        return None
    entry = server.executions.catalog.get(runbook_id)
    if entry is None or entry.runbook is None:
        return None
    return entry.runbook.legal_basis or None
