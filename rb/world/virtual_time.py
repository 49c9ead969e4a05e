"""An asyncio event loop whose clock is virtual.

Under a fixture or replay world nothing real happens, so waiting is pure
bookkeeping: when the loop would block until its next timer, it jumps its
clock there instead. `asyncio.sleep`, `asyncio.timeout` and every timer run
unchanged, in virtual time: a 60-second backoff takes microseconds and the
durations come out exact and repeatable.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that, instead of sleeping until a timer, advances the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            return super().select(None)  # only real I/O can wake the loop
        ready = super().select(0)
        if not ready and timeout > 0:
            self.now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` only moves when every task waits."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now
