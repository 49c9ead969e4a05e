"""The engine's side of durable runs: parked steps, restored steps, pause from a control source.

In a fixture world (virtual time): a test step type `gate` parks the run
until its answer is set, as an approval step does; a resume restores what
finished and runs the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from rb.engine.context import RestoredStep, RunOptions, StepContext
from rb.engine.events import EventBus, StepRestored, StepStarted, StepWaiting
from rb.engine.outcome import ExecutionResult
from rb.engine.scheduler import execute
from rb.engine.waiting import Park, WaitingFor
from rb.loader import load_text
from rb.plugins import step_types
from rb.step_type import StepType
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data

from .engine_helpers import Recorder

GATED = """\
id: gated
name: Gated
version: "1"
steps:
  - id: before
    type: wait
    inputs: {seconds: 1}
  - id: gate
    type: gate
    depends_on: [before]
    inputs: {}
  - id: after
    type: wait
    depends_on: [gate]
    inputs: {seconds: 1}
  - id: beside
    type: wait
    inputs: {seconds: 10}
"""


class Gate:
    """Parks the run until `open` is set, then succeeds with `{"answer": ...}`."""

    def __init__(self) -> None:
        self.answer: str | None = None

    async def run(self, ctx: StepContext, inputs: Mapping[str, Any]) -> Any:
        if self.answer is None:
            raise Park(WaitingFor("approval", ctx.step_id, {"approvers": ["ops"]}))
        return {"answer": self.answer}


def _types(gate: Gate) -> dict[str, StepType]:
    spec = StepType(
        name="gate",
        summary="waits for an answer",
        input_schema={"type": "object"},
        result="{answer}",
        example={},
        run=gate.run,
    )
    return {**step_types(), "gate": spec}


class Pauser:
    """A control source asking for a pause once its step has started."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.asked = False

    async def next_action(self) -> str:
        await self.started.wait()
        if self.asked:  # once: then nothing more is asked
            await asyncio.Future()
        self.asked = True
        return "pause"


def _run(
    gate: Gate,
    *,
    restored: Mapping[str, RestoredStep] | None = None,
    options: RunOptions | None = None,
    listeners: list[Any] | None = None,
) -> tuple[ExecutionResult, Recorder]:
    loaded = load_text(GATED, "gated.yaml")
    assert loaded.runbook is not None
    world = FixtureWorld(from_data({"runbook": "gated"}))
    events = Recorder()
    result = world.run(
        lambda: execute(
            loaded.runbook,  # type: ignore[arg-type]
            world,
            params={},
            step_types=_types(gate),
            bus=EventBus([events, *(listeners or [])]),
            options=options,
            restored=restored,
        )
    )
    return result, events


def test_a_parked_step_ends_the_run_waiting_once_running_steps_finish() -> None:
    result, events = _run(Gate())
    assert result.status == "waiting"
    assert [w.to_json() for w in result.waiting_for] == [
        {"kind": "approval", "step_id": "gate", "approvers": ["ops"]}
    ]
    assert {s: o.status for s, o in result.steps.items()} == {
        "before": "succeeded",
        "gate": "waiting",
        "after": "pending",  # not started, not skipped: it runs on resume
        "beside": "succeeded",  # was running when the gate parked: it finished
    }
    assert [e.step_id for e in events.of(StepWaiting)] == ["gate"]
    assert result.kpis == () and not result.ok


def test_a_resume_restores_finished_steps_without_running_them() -> None:
    gate = Gate()
    first, _ = _run(gate)
    restored = {
        sid: RestoredStep(sid, "succeeded", o.outputs, o.summary, o.attempts)
        for sid, o in first.steps.items()
        if o.status == "succeeded"
    }
    gate.answer = "approved"
    again, events = _run(gate, restored=restored)
    assert again.status == "success"
    assert again.steps["gate"].outputs == {} and again.steps["gate"].status == "succeeded"
    assert sorted(e.step_id for e in events.of(StepRestored)) == ["before", "beside"]
    assert sorted(e.step_id for e in events.of(StepStarted)) == ["after", "gate"]
    assert again.duration_seconds == 1  # only `after` waited: the rest was restored


def test_a_pause_starts_no_new_step_and_waits_for_pause() -> None:
    pauser = Pauser()

    def on_event(event: Any) -> None:
        if isinstance(event, StepStarted) and event.step_id == "before":
            pauser.started.set()

    result, _ = _run(Gate(), options=RunOptions(control=pauser), listeners=[on_event])
    assert result.status == "waiting"
    assert [w.kind for w in result.waiting_for] == ["pause"]
    assert result.steps["before"].status == "succeeded"  # running when paused: it finished
    assert result.steps["gate"].status == "pending"  # ready after the pause: not started
