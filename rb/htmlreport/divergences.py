"""A replay's divergences, each with the JSON path where it diverged.

Read from the replay's verdict document (`ReplayReport.as_json()`, which a
replay also keeps in its metadata as `replay`), so a report of a replay
shows them without re-running anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Divergence:
    """Where a replay differs from its recording: what, the JSON path, and how."""

    where: str  # "step enrich", "KPI min_success_rate", "requests"
    path: str  # "$.steps.enrich.outputs.entities[0].name"
    detail: str  # "expected 'a', got 'b'"


def divergences_from(verdict: Mapping[str, Any]) -> tuple[Divergence, ...]:
    """Every divergence in a replay verdict document (empty when it was verified)."""
    found: list[Divergence] = []
    for s in verdict.get("steps", ()):
        sid = s["id"]
        if s["original_status"] != s["replay_status"]:
            cause = f": {s['cause']}" if s.get("cause") else ""
            found.append(
                Divergence(
                    f"step {sid}",
                    f"$.steps.{sid}.status",
                    f"was {s['original_status']}, now {s['replay_status']}{cause}",
                )
            )
        for text in s.get("differences", ()):
            path, _, detail = str(text).partition(": ")
            found.append(Divergence(f"step {sid}", f"$.steps.{sid}.outputs{path[1:]}", detail))
    for c in verdict.get("checks", ()):
        if not c["matches"]:
            path = "$.status" if c["kind"] == "Status" else f"$.{c['kind'].lower()}s.{c['name']}"
            found.append(
                Divergence(
                    f"{c['kind']} {c['name']}", path, f"was {c['original']}, now {c['replay']}"
                )
            )
    requests = verdict.get("request_divergences", ())
    found.extend(Divergence("requests", "$.exchanges", r) for r in requests)
    return tuple(found)
