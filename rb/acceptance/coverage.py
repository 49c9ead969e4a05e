"""Which dependencies and failure paths a runbook's acceptance pack exercises.

Static: nothing runs. A dependency is *exercised* when some scenario's
fixture answers a request to it with a fault (a timeout, a refused
connection, a status or exit code the step does not accept, a database
error, a latency past the step's timeout). A failure path is *driven* when
some scenario makes its step fail (a fault that outlasts the step's retries,
or `steps: {id: failed}` in the pack) or, for a rollback, when an earlier
step's rollback must run (`steps: {id: rolled_back}`, or a later step with
`on_failure: rollback` fails).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rb.acceptance.dependencies import Dependency, Inventory, Use, assign, inventory
from rb.acceptance.pack import Kind, Pack, Scenario
from rb.model import Runbook
from rb.world.fixture_format import Exchange, Fixture


@dataclass(frozen=True, slots=True)
class Fault:
    """A scenario answering a request to a dependency with a fault."""

    scenario: str
    fault: str  # timeout | connection_error | status 500 | error | exit 2


@dataclass(frozen=True, slots=True)
class DependencyCoverage:
    dependency: Dependency
    faults: tuple[Fault, ...]  # sorted; empty: no scenario faults it

    @property
    def covered(self) -> bool:
        return bool(self.faults)


@dataclass(frozen=True, slots=True)
class FailurePath:
    """A step's declared reaction to failure: its `on_failure` (when not abort) or its rollback."""

    step: str
    path: str  # "on_failure: log_and_continue", "on_failure: rollback" or "rollback"
    scenarios: tuple[str, ...]  # the scenarios that drive it, in pack order

    @property
    def covered(self) -> bool:
        return bool(self.scenarios)


@dataclass(frozen=True)
class Coverage:
    """One runbook's coverage by its pack."""

    runbook: str
    pack: str  # the pack file
    dependencies: tuple[DependencyCoverage, ...]
    paths: tuple[FailurePath, ...]

    @property
    def dependency_percent(self) -> float:
        return percent(sum(d.covered for d in self.dependencies), len(self.dependencies))

    @property
    def path_percent(self) -> float:
        return percent(sum(p.covered for p in self.paths), len(self.paths))

    def to_json(self) -> dict[str, Any]:
        """The coverage as plain data (for `--format json`)."""
        return {
            "runbook": self.runbook,
            "pack": self.pack,
            "dependencies": {
                "covered": sum(d.covered for d in self.dependencies),
                "total": len(self.dependencies),
                "percent": round(self.dependency_percent, 1),
                "items": [
                    {
                        "key": d.dependency.key,
                        "kind": d.dependency.kind,
                        "steps": list(d.dependency.steps),
                        "covered": d.covered,
                        "faults": [{"scenario": f.scenario, "fault": f.fault} for f in d.faults],
                    }
                    for d in self.dependencies
                ],
            },
            "paths": {
                "covered": sum(p.covered for p in self.paths),
                "total": len(self.paths),
                "percent": round(self.path_percent, 1),
                "items": [
                    {
                        "step": p.step,
                        "path": p.path,
                        "covered": p.covered,
                        "scenarios": list(p.scenarios),
                    }
                    for p in self.paths
                ],
            },
        }


def percent(covered: int, total: int) -> float:
    """covered/total as a percentage; nothing to cover is fully covered."""
    return 100.0 if total == 0 else 100.0 * covered / total


def coverage(runbook: Runbook, pack: Pack, fixtures: Sequence[Fixture]) -> Coverage:
    """How far `pack` (its scenarios run against `fixtures`, in order) covers `runbook`."""
    inv = inventory(runbook)
    faults: dict[int, set[Fault]] = {}
    failing: dict[str, list[str]] = {}  # step id -> scenarios in which it fails
    rolled_back: dict[str, list[str]] = {}
    for scenario, fixture in zip(pack.scenarios, fixtures, strict=True):
        failed = set(_expected_states(scenario, "failed"))
        for index, fault, fails in _faults(inv, fixture):
            faults.setdefault(index, set()).add(Fault(scenario.name, fault))
            failed.update(fails)
        for step_id in failed:
            failing.setdefault(step_id, []).append(scenario.name)
        undone = set(_expected_states(scenario, "rolled_back"))
        for step_id in failed:
            if runbook.graph.has_node(step_id) and _step_policy(runbook, step_id) == "rollback":
                undone.update(_ancestors(runbook, step_id))
        for step_id in undone:
            rolled_back.setdefault(step_id, []).append(scenario.name)
    return Coverage(
        runbook.id,
        str(pack.path),
        tuple(
            DependencyCoverage(d, tuple(sorted(faults.get(i, ()), key=_fault_order)))
            for i, d in enumerate(inv.dependencies)
        ),
        tuple(_paths(runbook, failing, rolled_back)),
    )


def _fault_order(fault: Fault) -> tuple[str, str]:
    return (fault.scenario, fault.fault)


def _step_policy(runbook: Runbook, step_id: str) -> str:
    return next(s.on_failure for s in runbook.steps if s.id == step_id)


def _ancestors(runbook: Runbook, step_id: str) -> set[str]:
    import networkx as nx

    return set(nx.ancestors(runbook.graph, step_id))


def _paths(
    runbook: Runbook, failing: Mapping[str, list[str]], rolled_back: Mapping[str, list[str]]
) -> Iterator[FailurePath]:
    for step in runbook.steps:
        if step.on_failure != "abort":
            yield FailurePath(
                step.id, f"on_failure: {step.on_failure}", tuple(failing.get(step.id, ()))
            )
        if step.rollback is not None:
            yield FailurePath(step.id, "rollback", tuple(rolled_back.get(step.id, ())))


def _expected_states(scenario: Scenario, state: str) -> Iterator[str]:
    for check in scenario.expected.checks:
        if check.kind is Kind.STEP and check.want.value == state:
            yield check.subject[0]


def _faults(inv: Inventory, fixture: Fixture) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(dependency index, fault, steps the fault makes fail) for each faulty answer."""
    for exchange in fixture.exchanges:
        index = assign(inv, exchange)
        if index is None:
            continue
        dep = inv.dependencies[index]
        uses = _uses_of(dep, exchange)
        found = {f for u in uses for a in exchange.answers if (f := fault_of(dep, u, a))}
        fails = tuple(u.step for u in uses if u.role == "step" and _exhausts(dep, u, exchange))
        for fault in sorted(found):
            yield index, fault, fails


def _uses_of(dep: Dependency, exchange: Exchange) -> tuple[Use, ...]:
    named = tuple(u for u in dep.uses if u.step == exchange.step)
    return named or dep.uses


def fault_of(dep: Dependency, use: Use, answer: Mapping[str, Any]) -> str | None:
    """The fault `answer` is for `use` of `dep`, or None when the step accepts it."""
    if answer.get("fault"):
        return str(answer["fault"])
    latency = float(answer.get("latency_seconds", 0))
    if use.timeout_seconds is not None and latency >= use.timeout_seconds:
        return "timeout"
    if dep.kind in ("http", "metrics"):
        status = int(answer.get("status", 200))
        expect = use.expect
        if isinstance(expect, int | list):
            accepted = [expect] if isinstance(expect, int) else expect
            ok = status in accepted
        else:  # not given, or an expression: the default
            ok = 200 <= status < 300
        return None if ok else f"status {status}"
    if dep.kind == "database":
        return "error" if "error" in answer else None
    if dep.kind == "command":
        code = int(answer.get("exit_code", 0))
        expect = use.expect
        accepted = [expect] if isinstance(expect, int) else expect
        ok = code in accepted if isinstance(accepted, list) else code == 0
        return None if ok else f"exit {code}"
    return None


def _retryable(fault: str) -> bool:
    if fault.startswith("status "):
        status = int(fault.split()[1])
        return status >= 500 or status in (408, 429)
    return fault in ("timeout", "connection_error")


def _exhausts(dep: Dependency, use: Use, exchange: Exchange) -> bool:
    """Do the exchange's answers make the step fail, retries included?"""
    answers = exchange.answers
    if use.type == "wait":
        # A wait step polls through faults; it fails when the last answer stays faulty.
        return fault_of(dep, use, answers[-1]) is not None
    for attempt in range(max(use.max_attempts, 1)):
        fault = fault_of(dep, use, answers[min(attempt, len(answers) - 1)])
        if fault is None:
            return False
        if not _retryable(fault):
            return True
    return True
