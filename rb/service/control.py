"""How a running execution hears `rb cancel` and `rb pause`: the store's control table.

Any process may ask (the CLI, the server); only the process running the
execution acts. It polls for requests addressed to its execution — a query
every POLL_SECONDS on a thread, so the run's loop never waits for the
database — and marks each one handled as it takes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from rb.engine.context import ControlSource
from rb.store.database import Store, StoreError
from rb.store.tables import control

POLL_SECONDS = 0.25
ACTIONS = ("cancel", "pause")  # what a running process acts on; resume starts one


class StoreControl:
    """A ControlSource (rb.engine.context) reading `runbook_control` for one execution."""

    def __init__(self, store: Store, execution_id: Callable[[], str | None]) -> None:
        self.store = store
        self._execution_id = execution_id  # known once the run is recorded

    async def next_action(self) -> str:
        """Wait for the next cancel or pause request and return its action."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            execution_id = self._execution_id()
            if execution_id is None:
                continue
            try:
                action = await asyncio.to_thread(self._take, execution_id)
            except StoreError:
                continue  # the store is away for a moment: ask again at the next poll
            if action is not None:
                return action

    def _take(self, execution_id: str) -> str | None:
        with self.store.begin() as conn:
            row = conn.execute(
                control.select()
                .where(
                    control.c.execution_id == execution_id,
                    control.c.handled_at.is_(None),
                    control.c.action.in_(ACTIONS),
                )
                .order_by(control.c.id)
                .limit(1)
            ).one_or_none()
            if row is None:
                return None
            conn.execute(
                control.update().where(control.c.id == row.id).values(handled_at=datetime.now(UTC))
            )
            return str(row.action)


class EitherControl:
    """Two ControlSources heard at once: the first request of either is the next action.

    The source that did not answer keeps waiting for the next call, so that
    a request it is in the middle of taking is not lost.
    """

    def __init__(self, *sources: ControlSource) -> None:
        self._sources = sources
        self._waiting: dict[int, asyncio.Task[str]] = {}

    async def next_action(self) -> str:
        """Wait for the next cancel or pause from any source."""
        for i, source in enumerate(self._sources):
            if i not in self._waiting:
                self._waiting[i] = asyncio.ensure_future(source.next_action())
        try:
            await asyncio.wait(self._waiting.values(), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            for task in self._waiting.values():
                task.cancel()
            raise
        i = next(i for i, task in self._waiting.items() if task.done())
        return self._waiting.pop(i).result()
