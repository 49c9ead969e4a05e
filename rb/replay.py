"""Replaying a recorded execution and proving it gives the same result.

The recording becomes a fixture (rb.store.export), the recorded definition
(or `--definition FILE`) runs against it in virtual time, and the replay is
compared with the recording: every step's status and outputs, each KPI's
value and verdict, the assumptions and the run's own status. A request the
recording does not hold, and a recorded request the replay sent fewer times
(or never), are divergences too.

Values a live run read from the clock (a `wait` step's waited seconds, the
run's duration) cannot repeat in virtual time: they are not compared, and
the report lists them, so a verdict never hides what it did not check.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rb.engine.events import Listener
from rb.engine.outcome import ExecutionResult, status_text
from rb.jsondiff import differences, short
from rb.model import OutputKind, Runbook
from rb.step_type import StepType
from rb.store.records import Execution
from rb.world.fixture import FixtureWorld

if TYPE_CHECKING:
    from rb.store.database import Store

# KPIs measured with the run's clock (rb.engine.checks): their value is an observation.
CLOCK_KPIS = frozenset({"max_duration_seconds"})
_STEP_OUTPUT = re.compile(r"\bsteps\.(\w+)\.outputs\.(\w+)")


@dataclass(frozen=True)
class StepCheck:
    step_id: str
    original: str  # status in the recording ("missing" if it was not recorded)
    replayed: str
    differences: tuple[str, ...] = ()
    summary: str = ""  # the replayed step's own summary ("200 entities fetched")
    cause: str = ""  # why it failed, when its status changed ("output 'x': ...")

    @property
    def ok(self) -> bool:
        return self.original == self.replayed and not self.differences


@dataclass(frozen=True)
class RunCheck:
    """A KPI, an assumption or the run's status: recorded versus replayed."""

    kind: str  # KPI | Assumption | Status
    name: str
    original: str
    replayed: str
    shown: str = ""  # the replay's side in words, when it differs ("not met: 0.975 < 0.98")

    @property
    def ok(self) -> bool:
        return self.original == self.replayed


@dataclass(frozen=True)
class ReplayReport:
    original_id: str
    runbook_id: str
    steps: tuple[StepCheck, ...]
    requests: tuple[str, ...] = ()  # request divergences, readable at a glance
    replay_id: str | None = field(default=None, compare=False)
    checks: tuple[RunCheck, ...] = ()  # KPIs, assumptions and the run's status
    not_compared: tuple[str, ...] = ()  # clock readings a live run cannot repeat

    @property
    def verified(self) -> bool:
        return (
            not self.requests and all(s.ok for s in self.steps) and all(c.ok for c in self.checks)
        )

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
                    "cause": s.cause,
                }
                for s in self.steps
            ],
            "checks": [
                {
                    "kind": c.kind,
                    "name": c.name,
                    "original": c.original,
                    "replay": c.replayed,
                    "matches": c.ok,
                }
                for c in self.checks
            ],
            "request_divergences": list(self.requests),
            "not_compared": list(self.not_compared),
        }


def compare(
    run: Execution,
    result: ExecutionResult,
    world: FixtureWorld,
    runbook: Runbook,
    types: Mapping[str, StepType],
) -> ReplayReport:
    """Compare a replay's result and requests with the recording."""
    live = run.world == "live"  # only a live run read a real clock
    clocked = _clock_outputs(runbook, types) if live else set()
    not_compared: list[str] = []
    steps = [_step(run, sid, result, clocked, not_compared) for sid in result.steps]
    checks = _assumptions(run, result) + _kpis(run, result, live, not_compared)
    # Why the run failed: in the replay's words, or the recording's when only it failed.
    # The status as people read it, a breached KPI beside the procedure's end.
    was = status_text(run.status, run.kpis_breached)
    why = result.error or run.error or ""
    if result.status == "success":  # a breached KPI is named by the status text already
        why = ""
    shown = f"{result.status_text} ({why})" if why else result.status_text
    checks.append(RunCheck("Status", "run", was, result.status_text, shown))
    requests = [
        f"step {sid!r} sent a request the recording does not hold: {message}"
        for sid, message in world.unmatched
    ]
    for e, used in world.unused():
        held = len(e.answers)
        if used == 0:
            requests.append(
                f"the recording holds {e.describe()} (step {e.step!r}), which the replay never sent"
            )
        else:
            requests.append(
                f"the recording holds {e.describe()} {held} times (step {e.step!r}); "
                f"the replay sent it {used} {'time' if used == 1 else 'times'}"
            )
    return ReplayReport(
        run.id,
        run.runbook_id,
        tuple(steps),
        tuple(requests),
        checks=tuple(checks),
        not_compared=tuple(not_compared),
    )


def _step(
    run: Execution,
    sid: str,
    result: ExecutionResult,
    clocked: set[tuple[str, str]],
    not_compared: list[str],
) -> StepCheck:
    outcome = result.steps[sid]
    before = next((s for s in run.steps if s.step_id == sid), None)
    original = before.status if before else "missing"
    summary = outcome.summary if outcome.status == "succeeded" else ""
    if before is None or original != outcome.status:
        cause = outcome.error or outcome.reason
        if before is not None and not cause:  # it failed when recorded, not now
            cause = before.error or before.skip_reason or ""
        return StepCheck(sid, original, outcome.status, summary=summary, cause=cause)
    if original != "succeeded":
        return StepCheck(sid, original, outcome.status, summary=summary)
    recorded = dict(before.outputs or {})
    replayed = dict(result.mask(outcome.outputs))
    for name in sorted(n for s, n in clocked if s == sid):
        if name in recorded or name in replayed:
            was, now = recorded.pop(name, None), replayed.pop(name, None)
            not_compared.append(
                f"{sid}.{name}: {short(was)} recorded, {short(now)} in the replay "
                "(read from the clock in a live run)"
            )
    diffs = tuple(str(d) for d in differences(recorded, replayed, "$"))
    return StepCheck(sid, original, outcome.status, diffs, summary=summary)


def _clock_outputs(runbook: Runbook, types: Mapping[str, StepType]) -> set[tuple[str, str]]:
    """(step, output) pairs whose value comes from the clock, directly or via another output."""
    clocked: set[tuple[str, str]] = set()
    for step in runbook.steps:  # in file order, which the validator keeps causal
        step_type = types.get(step.type)
        fields = step_type.clock_fields if step_type else frozenset()
        for o in step.outputs:
            if o.kind is OutputKind.LITERAL:
                continue
            text = str(o.value)
            reads_field = any(re.search(rf"\b{re.escape(f)}\b", text) for f in fields)
            reads_output = any(m in clocked for m in _STEP_OUTPUT.findall(text))
            if reads_field or reads_output:
                clocked.add((step.id, o.name))
    return clocked


def _assumptions(run: Execution, result: ExecutionResult) -> list[RunCheck]:
    """A replay sees the recorded verdicts (observations): only a change is reported."""
    was = {a["id"]: _met(a["ok"]) for a in run.metadata.get("assumptions", [])}
    return [
        RunCheck(
            "Assumption",
            a.name,
            was.get(a.name, "not checked"),
            _met(a.ok),
            f"{_met(a.ok)}: {a.detail}" if a.detail else "",
        )
        for a in result.assumptions
        if was.get(a.name, "met") != _met(a.ok)
    ]


def _kpis(
    run: Execution, result: ExecutionResult, live: bool, not_compared: list[str]
) -> list[RunCheck]:
    """Each KPI's value and verdict, recorded versus replayed (by name)."""
    recorded = {k["name"]: k for k in run.metadata.get("kpis", [])}
    replayed = {k.name: k for k in result.kpis}
    checks = []
    for name in [*recorded, *(n for n in replayed if n not in recorded)]:
        before, now = recorded.get(name), replayed.get(name)
        clock = live and name in CLOCK_KPIS
        if clock and before is not None and now is not None:
            not_compared.append(
                f"KPI {name}: {_value(before['measured'])} recorded, {_value(now.measured)} "
                "in the replay (read from the clock in a live run; its verdict is compared)"
            )
        checks.append(
            RunCheck(
                "KPI",
                name,
                _kpi_text(before["measured"], before["ok"], clock) if before else "not checked",
                _kpi_text(now.measured, now.ok, clock) if now else "not checked",
                f"{'met' if now.ok else 'not met'}: {now.detail}" if now and now.detail else "",
            )
        )
    return checks


def _kpi_text(measured: float | None, ok: bool, clock: bool) -> str:
    verdict = "met" if ok else "not met"
    return verdict if clock or measured is None else f"{verdict} at {_value(measured)}"


def _value(measured: float | None) -> str:
    return "none" if measured is None else f"{measured:.6g}"


def _met(ok: bool) -> str:
    return "met" if ok else "unmet"


def replay_recording(
    run: Execution,
    *,
    store: Store,
    definition: str | None = None,
    actor: str | None = None,
    listeners: Sequence[Listener] = (),
) -> ReplayReport:
    """Run a recording (read with its exchanges) again against itself, and compare.

    The replay is recorded too (world `replay`, `replay_of` the original),
    with the verdict in its metadata, so an audit finds the proof beside it.
    `definition` replays a changed runbook file instead of the recorded one.
    """
    from rb.engine.params import resolve_params
    from rb.loader import load_file, load_text
    from rb.plugins import step_types
    from rb.service.request import Recording, RunRequest
    from rb.service.runbooks import require_valid
    from rb.service.runner import execute
    from rb.store.export import fixture_from_run
    from rb.store.queries import add_metadata
    from rb.world.fixture_format import from_data

    loaded = load_file(definition) if definition else load_text(run.definition, run.definition_path)
    runbook = require_valid(loaded)
    fixture = from_data(fixture_from_run(run), f"recording {run.id}")
    world = FixtureWorld(fixture)
    ran = execute(
        RunRequest(
            runbook,
            world,
            params=resolve_params(runbook, fixture.params, from_text=False),
            recording=Recording(store=store, replay_of=run.id),
            actor=actor,
            kind="replay",
            listeners=listeners,
        )
    )
    report = dataclasses.replace(
        compare(run, ran.result, world, runbook, step_types()), replay_id=ran.execution_id
    )
    if ran.execution_id is not None:
        add_metadata(store, ran.execution_id, replay=report.as_json())
    return report
