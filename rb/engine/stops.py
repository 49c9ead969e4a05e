"""Why a run stops before its graph is done: cancel, pause, its timeout, or a parked step.

The scheduler waits on one queue (for restored steps, the graph's end and
bugs); the watchers here put a signal on that same queue, so a request is
handled between two step completions and never races with the scheduler's
own bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from rb.engine.context import ControlSource
from rb.engine.waiting import WaitingFor
from rb.world.base import World

# Signals share the queue with step ids; a step id cannot start with NUL.
CANCEL = "\0cancel"
PAUSE = "\0pause"
TIMEOUT = "\0timeout"
SIGNALS = frozenset({CANCEL, PAUSE, TIMEOUT})


@dataclass
class GraphEnd:
    """How the step graph ended: None status means it ran to its end (or a failure)."""

    status: str | None = None  # waiting | cancelled | timed_out
    error: str = ""
    waiting_for: list[WaitingFor] = field(default_factory=list)

    @property
    def parking(self) -> bool:
        """No new step may start: a step waits or a pause was asked for."""
        return self.status == "waiting"


@contextlib.contextmanager
def watchers(
    queue: asyncio.Queue[str | BaseException],
    world: World,
    control: ControlSource | None,
    timeout_seconds: float | None,
) -> Iterator[None]:
    """Put CANCEL/PAUSE (from `control`) and TIMEOUT (on the world's clock) on `queue`."""
    tasks: list[asyncio.Task[None]] = []

    async def listen(source: ControlSource) -> None:
        while True:
            action = await source.next_action()
            queue.put_nowait(CANCEL if action == "cancel" else PAUSE)

    async def expire(seconds: float) -> None:
        await world.sleep(seconds)  # virtual under a fixture: a test waits for nothing
        queue.put_nowait(TIMEOUT)

    if control is not None:
        tasks.append(asyncio.create_task(listen(control), name="rb-control"))
    if timeout_seconds is not None:
        tasks.append(asyncio.create_task(expire(timeout_seconds), name="rb-run-timeout"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
