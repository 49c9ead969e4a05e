"""Failure scenarios generated from a runbook and its golden fixture.

For each dependency the golden fixture serves (rb.acceptance.dependencies)
and each fault that matters for its kind (rb.acceptance.faults), a fixture
is the golden one with that dependency's exchanges faulted, and a scenario
states what the runbook's own declarations say must follow: the step fails
once its retries are spent (or recovers, in the "once" variant, where a
retry can), then its `on_failure` decides: `abort` fails the run and skips
the steps after it, `rollback` also rolls back the earlier steps that
declare a rollback, `log_and_continue` lets the run go on. A status the
step accepts (`expect_status`) is no failure at all; a body whose field
changed type is caught by the `schema_check` steps that read it.

Nothing here depends on the clock or on dict order: the same runbook and
fixture plan the same scenarios, with the same names, in the same order.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rb.acceptance.coverage import fault_of
from rb.acceptance.dependencies import Dependency, assign, inventory
from rb.acceptance.faults import FAULTS, FaultKind, drift_field
from rb.model import Runbook
from rb.world.fixture_format import KINDS as EXCHANGE_KINDS
from rb.world.fixture_format import Fixture


@dataclass(frozen=True)
class Planned:
    """One generated scenario: its faulted fixture data and what must come out."""

    name: str  # `<step>-<dependency-slug>-<fault>[-once]`, also the fixture's file stem
    description: str
    fixture: dict[str, Any]  # the golden fixture's data with the fault applied
    status: str
    steps: Mapping[str, str]  # step id -> expected state, in runbook order


@dataclass(frozen=True)
class Skipped:
    """A dependency (or one of its faults) no scenario was generated for, and why."""

    dependency: str
    why: str


@dataclass(frozen=True)
class Plan:
    runbook: str
    scenarios: tuple[Planned, ...]
    skipped: tuple[Skipped, ...]


def plan(
    runbook: Runbook,
    golden: Fixture,
    data: Mapping[str, Any],
    golden_status: str,
    golden_states: Mapping[str, str],
) -> Plan:
    """Every failure scenario for `runbook`, from its golden fixture (`data` is its raw form).

    `golden_status` and `golden_states` are how the golden run ended, which a
    scenario in which nothing fails (or a retry recovers) must repeat.
    """
    inv = inventory(runbook, golden)
    raw = [(kind, i) for kind in EXCHANGE_KINDS for i, _ in enumerate(data.get(kind) or ())]
    served: dict[int, list[int]] = {}
    for position, exchange in enumerate(golden.exchanges):
        index = assign(inv, exchange)
        if index is not None:
            served.setdefault(index, []).append(position)
    planner = _Planner(runbook, golden, data, raw, golden_status, golden_states)
    scenarios: list[Planned] = []
    skipped: list[Skipped] = []
    slugs: dict[str, int] = {}
    for index, dep in enumerate(inv.dependencies):
        slug = _slug(dep.key)
        slugs[slug] = slugs.get(slug, 0) + 1
        if slugs[slug] > 1:  # two dependencies that read alike keep apart
            slug = f"{slug}-{slugs[slug]}"
        if not FAULTS[dep.kind]:
            skipped.append(Skipped(dep.key, "a page is served by the fixture; it cannot fault"))
            continue
        if not any(u.role == "step" for u in dep.uses):
            skipped.append(
                Skipped(
                    dep.key,
                    "only a rollback uses it; rollback scenarios answer it as golden",
                )
            )
            continue
        if index not in served:
            skipped.append(Skipped(dep.key, "the golden fixture has no exchange for it"))
            continue
        for steps, positions in _groups(dep, golden, served[index]):
            for fault in FAULTS[dep.kind]:
                found = planner.scenarios(dep, slug, steps, positions, fault)
                if isinstance(found, Skipped):
                    skipped.append(found)
                else:
                    scenarios.extend(found)
    return Plan(runbook.id, tuple(scenarios), tuple(dict.fromkeys(skipped)))


def _groups(
    dep: Dependency, golden: Fixture, positions: Sequence[int]
) -> Iterator[tuple[tuple[str, ...], tuple[int, ...]]]:
    """The exchanges to fault together, with the steps that send them.

    Exchanges naming their `step:` are faulted per step; the others serve
    every step using the dependency, so faulting them hits all of those.
    """
    users = tuple(dict.fromkeys(u.step for u in dep.uses if u.role == "step"))
    by_step: dict[str | None, list[int]] = {}
    for p in positions:
        step = golden.exchanges[p].step
        by_step.setdefault(step if step in users else None, []).append(p)
    for step in users:
        if step in by_step:
            yield (step,), tuple(by_step[step])
    if None in by_step:
        yield users, tuple(by_step[None])


class _Planner:
    def __init__(
        self,
        runbook: Runbook,
        golden: Fixture,
        data: Mapping[str, Any],
        raw: list[tuple[str, int]],
        golden_status: str,
        golden_states: Mapping[str, str],
    ) -> None:
        self.runbook = runbook
        self.steps = {s.id: s for s in runbook.steps}
        self.golden = golden
        self.data = data
        self.raw = raw
        self.golden_status = golden_status
        self.golden_states = golden_states

    def scenarios(
        self,
        dep: Dependency,
        slug: str,
        steps: tuple[str, ...],
        positions: tuple[int, ...],
        fault: FaultKind,
    ) -> list[Planned] | Skipped:
        first = self.steps[steps[0]]
        use = next(u for u in dep.uses if u.step == first.id and u.role == "step")
        golden_answer = self.golden.exchanges[positions[0]].answers[0]
        answer = fault.apply(golden_answer, first)
        if answer is None:  # only body faults can be inapplicable
            return Skipped(
                dep.key, f"malformed-body, drift-*: no JSONPath output of {first.id} reads its body"
            )
        name = f"{first.id}-{slug}-{fault.name}"
        who = ", ".join(steps)
        failing: tuple[str, ...] = steps
        why = f"{dep.key} {fault.label} to {who}"
        if fault.name == "drift-type":
            found = drift_field(golden_answer, first)
            assert found is not None  # apply() found it
            checkers = self._checkers(first.id, found[1])
            if not checkers:
                return Skipped(
                    dep.key,
                    f"drift-type for {first.id}: no schema_check step reads "
                    f"steps.{first.id}.outputs.{found[1]}",
                )
            failing = checkers
            why += f"; {', '.join(checkers)} must reject outputs.{found[1]}"
        elif fault.name.startswith("status-") and fault_of(dep, use, answer) is None:
            failing = ()
            why += f"; {first.id} accepts it (expect_status)"
        result = [self._planned(name, why, positions, [answer], failing)]
        retried = [s for s in steps if self.steps[s].retry.max_attempts > 1]
        if fault.retryable and failing and retried == list(steps):
            attempts = min(self.steps[s].retry.max_attempts for s in steps)
            again = [answer, *self.golden.exchanges[positions[0]].answers]
            result.append(
                self._planned(
                    f"{name}-once",
                    f"{dep.key} {fault.label} once, then answers as in the golden fixture; "
                    f"{who} retries ({attempts} attempts) and recovers",
                    positions,
                    again,
                    (),
                )
            )
        return result

    def _checkers(self, step_id: str, output: str) -> tuple[str, ...]:
        reads = re.compile(rf"steps\.{re.escape(step_id)}\.outputs\.{re.escape(output)}\b")
        return tuple(
            s.id
            for s in self.runbook.steps
            if s.type == "schema_check" and reads.search(repr(dict(s.inputs)))
        )

    def _planned(
        self,
        name: str,
        why: str,
        positions: tuple[int, ...],
        answers: list[dict[str, Any]] | list[Any],
        failing: tuple[str, ...],
    ) -> Planned:
        data = copy.deepcopy(dict(self.data))
        for p in positions:
            kind, i = self.raw[p]
            entry = data[kind][i]
            entry.pop("response", None)
            entry.pop("responses", None)
            if len(answers) == 1:
                entry["response"] = copy.deepcopy(answers[0])
            else:
                entry["responses"] = copy.deepcopy(answers)
        data["description"] = why
        status, states, because = derive(
            self.runbook, self.golden_status, self.golden_states, failing
        )
        return Planned(name, f"{why}. {because}", data, status, states)


def derive(
    runbook: Runbook,
    golden_status: str,
    golden_states: Mapping[str, str],
    failing: Sequence[str],
) -> tuple[str, dict[str, str], str]:
    """(status, step states, why) the declarations promise when `failing` steps fail.

    Steps whose fate the declarations leave open (running beside a step that
    stopped the run, or after a step that logged its failure and went on)
    are not stated.
    """
    import networkx as nx

    graph = runbook.graph
    states = dict(golden_states)
    unknown: set[str] = set()
    said: list[str] = []
    status = golden_status
    rank = _topo_rank(runbook)
    for step in sorted(runbook.steps, key=lambda s: rank[s.id]):
        if step.id not in failing or step.id in unknown:
            continue
        states[step.id] = "failed"
        after = set(nx.descendants(graph, step.id))
        if step.on_failure == "log_and_continue":
            unknown |= after
            said.append(f"{step.id} fails; on_failure log_and_continue: the run goes on")
            continue
        before = set(nx.ancestors(graph, step.id))
        unknown |= set(states) - before - after - {step.id}
        unknown -= after
        for sid in after:
            states[sid] = "skipped"
        status = "failure"
        text = f"{step.id} fails; on_failure {step.on_failure}: the run fails"
        if after:
            text += f", {', '.join(s for s in states if s in after)} skipped"
        if step.on_failure == "rollback":
            undone = [
                s.id
                for s in runbook.steps
                if s.id in before
                and s.rollback is not None
                and golden_states.get(s.id) == "succeeded"
            ]
            for sid in undone:
                states[sid] = "rolled_back"
            if undone:
                text += f", {', '.join(undone)} rolled back"
        said.append(text)
        break
    if not said:
        said.append("nothing fails: the run ends as the golden one")
    kept = {s.id: states[s.id] for s in runbook.steps if s.id not in unknown and s.id in states}
    return status, kept, "; ".join(said) + "."


def _topo_rank(runbook: Runbook) -> dict[str, int]:
    import networkx as nx

    index = {s.id: s.index for s in runbook.steps}
    order = nx.lexicographical_topological_sort(runbook.graph, key=lambda sid: index[sid])
    return {sid: i for i, sid in enumerate(order)}


def _slug(key: str) -> str:
    """`GET ${params.api}/items` -> `get-params-api-items` (at most 48 characters)."""
    text = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    return text[:48].rstrip("-") or "dependency"
