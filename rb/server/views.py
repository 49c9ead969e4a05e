"""The JSON shapes of runbooks and executions, shared by REST and GraphQL.

Executions are shown from their record in the store, where secrets are
already masked (values as `***`, references as `${secrets.NAME}`), so what a
client sees is exactly what an audit of the store would see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rb.model import Runbook
from rb.server.catalog import Entry
from rb.store.records import Execution

# rb's statuses as the seed's GraphQL enum has them: an interrupted run (its
# process died) did not complete, which the enum can only call ABORTED.
GRAPHQL_STATUS = {
    "running": "RUNNING",
    "success": "SUCCESS",
    "failure": "FAILURE",
    "aborted": "ABORTED",
    "interrupted": "ABORTED",
    # Durable executions (docs/durability.md): the enum gained their names.
    "queued": "QUEUED",
    "waiting": "WAITING",
    "cancelled": "CANCELLED",
    "timed_out": "TIMED_OUT",
}


def execution_json(run: Execution) -> dict[str, Any]:
    """An execution and its step logs, as recorded: the document `rb runs show
    --format json` prints too (without exchanges unless they were read)."""
    return run.to_json()


def runbook_summary(entry: Entry, project: Path) -> dict[str, Any]:
    """A runbook in a list: who owns it and whether it can run."""
    path = entry.path.resolve()
    shown = str(path.relative_to(project)) if path.is_relative_to(project) else str(path)
    if entry.runbook is None:
        return {"id": entry.id, "path": shown, "valid": False, "errors": list(entry.errors)}
    rb = entry.runbook
    return {
        "id": rb.id,
        "name": rb.name,
        "version": rb.version,
        "owner": rb.owner,
        "legal_basis": rb.legal_basis or None,
        "description": rb.description,
        "path": shown,
        "valid": True,
        "steps": len(rb.steps),
    }


def runbook_json(entry: Entry, project: Path) -> dict[str, Any]:
    """A runbook in full: parameters, steps, assumptions and KPIs as declared."""
    data = runbook_summary(entry, project)
    if entry.runbook is None:
        return data
    rb: Runbook = entry.runbook
    data["parameters"] = [
        {
            "name": p.name,
            "type": p.type,
            "required": not p.has_default,
            "default": p.default,
            "description": p.description,
            "schema": dict(p.schema),
        }
        for p in rb.parameters
    ]
    data["steps"] = [
        {
            "id": s.id,
            "type": s.type,
            "description": s.description,
            "depends_on": list(s.depends_on),
            "on_failure": s.on_failure,
            "timeout_seconds": s.timeout_seconds,
            "inputs": dict(s.inputs),  # as written: secrets appear only as references
        }
        for s in rb.steps
    ]
    data["assumptions"] = [
        {"id": a.id, "description": a.description, "expected": a.expected, "check": a.check}
        for a in rb.assumptions
    ]
    data["kpis"] = [
        {"name": k.name, "threshold": k.threshold, "minimum": k.minimum, "maximum": k.maximum}
        for k in rb.kpis
    ]
    return data
