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
        # Nothing real is awaited, so there is nothing to poll for: jump to
        # the next timer at once. Skipping the poll's system call matters:
        # it lets go of the interpreter lock, and another thread waiting for
        # the lock (the recorder's reader of acknowledgements, a server's
        # threads) would then cost a thread switch per loop iteration.
        # (A callback another thread schedules is already in the ready queue.)
        if timeout > 0:
            self.now += timeout
        return []


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
