"""Running runbooks in a fixture world from test code."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml

from rb.engine.events import Event, EventBus
from rb.engine.outcome import ExecutionResult
from rb.engine.params import resolve_params
from rb.engine.scheduler import execute
from rb.loader import load_text
from rb.model import Runbook
from rb.plugins import step_types
from rb.validate import check_runbook
from rb.world.fixture import FixtureWorld
from rb.world.fixture_format import from_data


def runbook(text: str) -> Runbook:
    loaded = load_text(text, "test.yaml")
    assert loaded.runbook is not None, loaded.diagnostics
    errors = [d for d in check_runbook(loaded.runbook, step_types()) if d.severity.value == "error"]
    assert errors == [], errors
    return loaded.runbook


class Recorder:
    """Collects events with the (virtual) time they were published."""

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []

    def __call__(self, event: Event) -> None:
        self.events.append((asyncio.get_running_loop().time(), event))

    def of(self, kind: type) -> list[Any]:
        return [e for _, e in self.events if isinstance(e, kind)]

    def times(self, kind: type) -> list[tuple[float, Any]]:
        return [(t, e) for t, e in self.events if isinstance(e, kind)]


def run(
    text: str, fixture: str | dict[str, Any] = "", *, max_parallel: int | None = None
) -> tuple[ExecutionResult, Recorder]:
    book = runbook(text)
    data = yaml.safe_load(fixture) if isinstance(fixture, str) else fixture
    world = FixtureWorld(from_data(data or {}))
    recorder = Recorder()
    params = resolve_params(book, world.fixture.params, from_text=False)
    result = world.run(
        lambda: execute(
            book,
            world,
            params=params,
            step_types=step_types(),
            bus=EventBus([recorder]),
            max_parallel=max_parallel,
        )
    )
    return result, recorder
