"""Replaying a recorded execution and proving it gives the same result.

The recording becomes a fixture (rb.store.export), the recorded definition
(or `--definition FILE`) runs against it in virtual time, and every step's
status and outputs are compared with the recorded ones. A request the
recording does not hold, and a recorded request the replay no longer sends,
are divergences too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rb.engine.outcome import ExecutionResult
from rb.report import differences
from rb.store.queries import Run
from rb.world.fixture import FixtureWorld


@dataclass(frozen=True)
class StepCheck:
    step_id: str
    original: str  # status in the recording ("missing" if it was not recorded)
    replayed: str
    differences: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.original == self.replayed and not self.differences


@dataclass(frozen=True)
class ReplayReport:
    original_id: str
    runbook_id: str
    steps: tuple[StepCheck, ...]
    requests: tuple[str, ...] = ()  # request divergences, readable at a glance
    replay_id: str | None = field(default=None, compare=False)

    @property
    def verified(self) -> bool:
        return not self.requests and all(s.ok for s in self.steps)

    def as_json(self) -> dict[str, Any]:
        """Stable across replays of one recording (the new run's id is left out)."""
        return {
            "execution_id": self.original_id,
            "runbook_id": self.runbook_id,
            "verified": self.verified,
            "steps": [
                {
                    "id": s.step_id,
                    "original_status": s.original,
                    "replay_status": s.replayed,
                    "matches": s.ok,
                    "differences": list(s.differences),
                }
                for s in self.steps
            ],
            "request_divergences": list(self.requests),
        }


def compare(run: Run, result: ExecutionResult, world: FixtureWorld) -> ReplayReport:
    """Compare a replay's result and requests with the recording."""
    recorded = {s["step_id"]: s for s in run.steps}
    checks = []
    for sid, outcome in result.steps.items():
        before = recorded.get(sid)
        original = before["status"] if before else "missing"
        diffs: tuple[str, ...] = ()
        if before is not None and original == outcome.status == "succeeded":
            diffs = tuple(differences(before["outputs"] or {}, result.mask(outcome.outputs), "$"))
        checks.append(StepCheck(sid, original, outcome.status, diffs))
    was = {a["id"]: a["ok"] for a in run.row["metadata"].get("assumptions", [])}
    for a in result.assumptions:
        if a.name in was and was[a.name] != a.ok:
            checks.insert(0, StepCheck(f"assumption {a.name}", _met(was[a.name]), _met(a.ok)))
    requests = [
        f"step {sid!r} sent a request the recording does not hold: {message}"
        for sid, message in world.unmatched
    ]
    requests += [
        f"the recording holds {e.describe()} (step {e.step!r}), which the replay never sent"
        for e in world.unused()
    ]
    return ReplayReport(run.id, run.row["runbook_id"], tuple(checks), tuple(requests))


def _met(ok: bool) -> str:
    return "met" if ok else "unmet"


def report_lines(report: ReplayReport) -> list[str]:
    """The seed's replay report, a line per step, then the verdict."""
    lines = []
    for s in report.steps:
        if s.ok:
            lines.append(f"✓ Step: {s.step_id} ({s.replayed}, matches original)")
        elif s.original != s.replayed:
            lines.append(f"✗ Step: {s.step_id} (was {s.original}, now {s.replayed})")
        else:
            lines.append(f"✗ Step: {s.step_id} (outputs differ)")
        lines.extend(f"    {d}" for d in s.differences)
    lines.extend(f"✗ Request: {r}" for r in report.requests)
    lines.append("REPLAY VERIFIED" if report.verified else "REPLAY DIVERGED")
    return lines
