"""`rb graph`'s three formats: Mermaid (renders on GitHub), Graphviz DOT and JSON.

Each takes the runbook's id and the `Overview` from `rb.graph` and returns
the whole text. Node names in Mermaid and DOT come from the step's position,
not its id, so no id can break the syntax; the id is in the quoted label.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rb.graph import Overview
from rb.model import Step

CRITICAL_COLOUR = "#d1242f"


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _label_parts(step: Step, overview: Overview) -> list[str]:
    parts = [step.type, f"on_failure: {step.on_failure}"]
    budget = overview.budget[step.id]
    if budget:
        parts.append(f"up to {_seconds(budget)}")
    return parts


def _critical_note(overview: Overview) -> str:
    if not overview.critical:
        return "no step has a timeout: no critical path"
    return (
        f"critical path: {' → '.join(overview.critical)}, up to "
        f"{_seconds(overview.critical_seconds)} (timeouts per attempt plus retry delays)"
    )


def mermaid(runbook_id: str, overview: Overview) -> str:
    """A Mermaid flowchart: quoted labels, the critical path in a classDef."""
    node = {s.id: f"s{i}" for i, s in enumerate(overview.steps)}
    lines = ["flowchart TD", f"  %% {runbook_id}: {_critical_note(overview)}"]
    for step in overview.steps:
        label = "<br/>".join([step.id, *_label_parts(step, overview)])
        lines.append(f'  {node[step.id]}["{_mermaid_text(label)}"]')
    critical_edges = overview.critical_edges()
    links = []
    for i, (dep, sid) in enumerate(overview.edges):
        lines.append(f"  {node[dep]} --> {node[sid]}")
        if (dep, sid) in critical_edges:
            links.append(str(i))
    if overview.critical:
        lines.append(f"  classDef critical stroke:{CRITICAL_COLOUR},stroke-width:3px")
        lines.append(f"  class {','.join(node[sid] for sid in overview.critical)} critical")
    if links:
        lines.append(f"  linkStyle {','.join(links)} stroke:{CRITICAL_COLOUR},stroke-width:3px")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Inside a quoted Mermaid label only the quote itself needs its entity code.
    return text.replace('"', "#quot;")


def dot(runbook_id: str, overview: Overview) -> str:
    """A Graphviz digraph; the critical path's steps and edges drawn thick and red."""
    node = {s.id: f"s{i}" for i, s in enumerate(overview.steps)}
    critical = set(overview.critical)
    thick = f'color="{CRITICAL_COLOUR}", penwidth=3'
    lines = [
        f"digraph {_dot_text(runbook_id)} {{",
        f"  label={_dot_text(_critical_note(overview))};",
        "  rankdir=TB;",
        '  node [shape=box, fontname="Helvetica"];',
    ]
    for step in overview.steps:
        label = "\n".join([step.id, *_label_parts(step, overview)])
        style = f", {thick}" if step.id in critical else ""
        lines.append(f"  {node[step.id]} [label={_dot_text(label)}{style}];")
    critical_edges = overview.critical_edges()
    for dep, sid in overview.edges:
        style = f" [{thick}]" if (dep, sid) in critical_edges else ""
        lines.append(f"  {node[dep]} -> {node[sid]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def as_json(runbook_id: str, overview: Overview) -> str:
    """One document: steps (with generation and budget), edges and the critical path."""
    critical = set(overview.critical)
    critical_edges = overview.critical_edges()
    doc: dict[str, Any] = {
        "runbook": runbook_id,
        "steps": [
            {
                "id": s.id,
                "type": s.type,
                "on_failure": s.on_failure,
                "depends_on": [dep for dep, sid in overview.edges if sid == s.id],
                "generation": overview.generation[s.id],
                "timeout_seconds": s.timeout_seconds,
                "max_attempts": s.retry.max_attempts,
                "budget_seconds": overview.budget[s.id],
                "critical": s.id in critical,
            }
            for s in overview.steps
        ],
        "edges": [
            {"from": dep, "to": sid, "critical": (dep, sid) in critical_edges}
            for dep, sid in overview.edges
        ],
        "critical_path": {
            "steps": list(overview.critical),
            "budget_seconds": overview.critical_seconds if overview.critical else 0,
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[str, Overview], str]] = {
    "mermaid": mermaid,
    "dot": dot,
    "json": as_json,
}
FORMATS = tuple(RENDERERS)
