"""The JSON shapes of runbooks and executions, shared by REST and GraphQL.

Executions are shown from their record in the store, where secrets are
already masked (values as `***`, references as `${secrets.NAME}`), so what a
client sees is exactly what an audit of the store would see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rb.engine.outcome import breached_kpis
from rb.model import Runbook
from rb.server.catalog import Entry
from rb.store.queries import Run, iso

# rb's statuses as the seed's GraphQL enum has them: an interrupted run (its
# process died) did not complete, which the enum can only call ABORTED.
GRAPHQL_STATUS = {
    "running": "RUNNING",
    "success": "SUCCESS",
    "failure": "FAILURE",
    "aborted": "ABORTED",
    "interrupted": "ABORTED",
}


def execution_json(run: Run) -> dict[str, Any]:
    """An execution and its step logs, as recorded."""
    r = run.row
    meta: dict[str, Any] = r["metadata"] or {}
    data: dict[str, Any] = {
        "id": r["id"],
        "runbook_id": r["runbook_id"],
        "runbook_version": r["runbook_version"],
        "status": r["status"],
        # A procedure that succeeded but missed a KPI: both facts, side by side.
        "kpis_breached": breached_kpis(meta.get("kpis")),
        "world": r["world"],
        "actor": r["actor_id"],
        "replay_of": r["replay_of"],
        "started_at": iso(r["started_at"]),  # as the run saw it (virtual under a fixture)
        "completed_at": iso(r["completed_at"]),
        "recorded_at": iso(r["recorded_at"]),  # real time the record was made
        "duration_seconds": r["duration_seconds"],
        "error": meta.get("error") or None,
        "legal_basis": meta.get("legal_basis") or None,
        "params": meta.get("params", {}),
        "facts": meta.get("facts", {}),
        "assumptions": meta.get("assumptions", []),
        "kpis": meta.get("kpis", []),
        "step_logs": [step_json(s) for s in run.steps],
    }
    if "replay" in meta:
        data["replay"] = meta["replay"]
    return data


def step_json(step: dict[str, Any]) -> dict[str, Any]:
    """One step log."""
    errors = step["errors"] or {}
    return {
        "step_id": step["step_id"],
        "status": step["status"],
        "attempts": step["attempts"],
        "started_at": iso(step["started_at"]),
        "completed_at": iso(step["completed_at"]),
        "duration_seconds": step["duration_seconds"],
        "summary": step["summary"],
        "error": errors.get("message"),
        "skip_reason": errors.get("reason"),
        "inputs": step["inputs"],
        "outputs": step["outputs"],
    }


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
