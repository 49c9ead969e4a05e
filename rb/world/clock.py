"""Clocks and ids shared by the worlds."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class LoopClock:
    """Time read from the running event loop, anchored to a wall-clock start.

    On a normal loop that is real time; on a `VirtualTimeLoop` it is virtual
    and starts at `start` (a frozen clock that moves only when tasks wait).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._origin: float | None = None
        self._last: tuple[float, datetime] | None = None  # (loop time, now) last given

    def _loop_time(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return 0.0

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        loop_time = self._loop_time()
        if self._origin is None:
            self._origin = loop_time
        last = self._last
        if last is not None and last[0] == loop_time:
            return last[1]  # virtual time stands still between waits: asked often
        now = self._start + timedelta(seconds=loop_time - self._origin)
        self._last = (loop_time, now)
        return now

    def monotonic(self) -> float:
        return self._loop_time()


class SeededIds:
    """Ids and random numbers from a seed: the same seed gives the same run."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed) if seed is not None else random.SystemRandom()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def random(self) -> float:
        return self._rng.random()


class ClockAndIds:
    """The World's clock, sleep and id methods, shared by every world.

    Sleeping is `asyncio.sleep`: on a `VirtualTimeLoop` it costs no real time.
    """

    def __init__(self, start: datetime | None, seed: int | None) -> None:
        self._clock = LoopClock(start)
        self._ids = SeededIds(seed)
        # The clock's own methods: read several times per step, so no frame
        # of ours in between.
        self.now: Callable[[], datetime] = self._clock.now
        self.monotonic: Callable[[], float] = self._clock.monotonic

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def new_id(self) -> str:
        return self._ids.new_id()

    def random(self) -> float:
        return self._ids.random()

    def observe(self, name: str, value: Any) -> Any:
        return value
