"""Parked executions for the approval and event tests, made as a live run makes them.

The step runs for real against the store-backed inbox and raises Park; the
execution row is then marked `waiting` with that Park's waiting_for, which is
what the run service records when a run parks (rb/service/durable.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rb.engine.context import ScreenshotPolicy, StepContext
from rb.engine.waiting import Park
from rb.plugins import step_types
from rb.store.database import Store
from rb.store.inbox import StoreInbox
from rb.world.live import LiveWorld


def new_execution(store: Store, *, actor: str = "olivia", status: str = "running") -> str:
    """An execution row as the recorder writes it when a live run starts."""
    import sqlalchemy

    from rb.store.tables import executions

    execution_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with store.begin() as conn:
        conn.execute(
            sqlalchemy.insert(executions).values(
                id=execution_id,
                runbook_id="rb-test-waits",
                runbook_version="1.0.0",
                started_at=now,
                recorded_at=now,
                status=status,
                actor_id=actor,
                world="live",
                definition="id: rb-test-waits\n",
                definition_hash="0" * 64,
                definition_path="runbooks/waits.yaml",
                metadata={},
            )
        )
    return execution_id


def run_step(
    store: Store, execution_id: str, type_name: str, inputs: Mapping[str, Any], step_id: str
) -> Any:
    """Run one approval / wait_event step live against the store: its result, or Park."""
    world = LiveWorld(env={}, inbox=StoreInbox(store))

    def evaluate(text: str, extra: Mapping[str, Any]) -> Any:
        assert text == "${execution.id}", text
        return execution_id

    ctx = StepContext(
        step_id=step_id,
        runbook_id="rb-test-waits",
        base_dir=Path("."),
        world=world,
        evaluate=evaluate,
        screenshots=ScreenshotPolicy(output_dir=Path(".rb/screenshots")),
    )
    run = step_types()[type_name].run
    assert run is not None

    async def main() -> Any:
        try:
            return await run(ctx, inputs)
        except Park as park:
            return park
        finally:
            await world.aclose()

    return asyncio.run(main())


def park(store: Store, execution_id: str, parked: Park) -> None:
    """Mark the execution waiting for what the step said, as the service does."""
    import sqlalchemy

    from rb.store.tables import executions

    with store.begin() as conn:
        conn.execute(
            sqlalchemy.update(executions)
            .where(executions.c.id == execution_id)
            .values(status="waiting", waiting_for=[parked.waiting_for.to_json()])
        )
