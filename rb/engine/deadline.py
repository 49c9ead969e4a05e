"""A step attempt's timeout, cheaper than `asyncio.timeout`.

`asyncio.timeout` is an async context manager: entering and leaving it
builds two coroutines and a state machine, about a fifth of a no-op step.
This is the same contract (cancel the task at the deadline, turn that one
cancellation into TimeoutError, leave any other cancellation alone) as a
plain `with` over one timer handle.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Deadline:
    """`with Deadline(seconds):` inside a task raises TimeoutError if it runs past."""

    __slots__ = ("_cancelling", "_expired", "_handle", "_seconds", "_task")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds  # None: no deadline
        self._expired = False
        self._handle: asyncio.TimerHandle | None = None

    def __enter__(self) -> Deadline:
        if self._seconds is None:
            return self
        task = asyncio.current_task()
        assert task is not None, "Deadline is used inside a task"
        self._task = task
        self._cancelling = task.cancelling()
        loop = asyncio.get_running_loop()
        self._handle = loop.call_at(loop.time() + self._seconds, self._expire)
        return self

    def _expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is None:
            return
        self._handle.cancel()
        # Ours only if no one else asked for a cancel meanwhile (as asyncio.timeout).
        if (
            self._expired
            and self._task.uncancel() <= self._cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError from exc
