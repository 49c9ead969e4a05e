"""An asyncio event loop whose clock is virtual.

Under a fixture or replay world nothing real happens, so waiting is pure
bookkeeping: when the loop would block until its next timer, it jumps its
clock there instead. `asyncio.sleep`, `asyncio.timeout` and every timer run
unchanged, in virtual time: a 60-second backoff takes microseconds and the
durations come out exact and repeatable.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
from collections.abc import Iterator
from typing import Any


class _JumpingSelector(selectors.DefaultSelector):
    """A selector that, instead of sleeping until a timer, advances the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.real_io = 0  # > 0 while a task waits on a real process (a browser)

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None or self.real_io:
            # Only real I/O can wake the loop; the virtual clock stands still.
            return super().select(timeout)
        if timeout == 0:
            # Callbacks are ready and nothing real is awaited: skip the poll.
            # Its system call lets go of the interpreter lock, and a recorder
            # thread waiting for it would then cost a thread switch per loop
            # iteration. Whatever arrives is seen at the next real poll.
            return []
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

    @contextlib.contextmanager
    def real_io(self) -> Iterator[None]:
        """Wait for a real process (a browser) without jumping the clock.

        The work inside takes no virtual time, so reports stay repeatable;
        the process enforces its own (real) timeouts.
        """
        self._jumping.real_io += 1
        try:
            yield
        finally:
            self._jumping.real_io -= 1


@contextlib.contextmanager
def real_io() -> Iterator[None]:
    """`VirtualTimeLoop.real_io()` on a virtual loop; nothing on a real one."""
    loop = asyncio.get_running_loop()
    if isinstance(loop, VirtualTimeLoop):
        with loop.real_io():
            yield
    else:
        yield
