"""Passing items from the run's thread to the writer without waking it each time.

`queue.Queue` wakes a waiting consumer on every `put`. With one interpreter
lock that costs a thread switch per item, which for a no-op step is more than
recording it. Here the producer only appends to a deque (atomic, lock-free)
and sets an event when the consumer said it is idle. A busy consumer drains
whatever piled up in one go, so there is one wake-up per batch, not per item.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """A single-consumer queue that wakes its consumer only when it is idle."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._wake = threading.Event()
        self._idle = False

    def put(self, item: T, *, wake: bool = False) -> None:
        """Append `item`; wake the consumer if it is waiting (or if `wake`)."""
        self._items.append(item)
        if self._idle or wake:
            # Once: the consumer may wait a while for the interpreter lock
            # after the wake-up, and every `set` meanwhile would take the
            # event's lock again for nothing.
            self._idle = False
            self._wake.set()

    def pending(self) -> int:
        """How many items wait to be taken."""
        return len(self._items)

    def take(self, limit: int, timeout: float) -> list[T]:
        """Up to `limit` items, waiting at most `timeout` seconds for the first.

        Returns an empty list when the time ran out with nothing to take.
        """
        if not self._items:
            self._idle = True
            # Look again: an item put before `_idle` was set woke nobody.
            if not self._items:
                self._wake.wait(timeout)
            self._idle = False
            self._wake.clear()
        items = self._items
        return [items.popleft() for _ in range(min(limit, len(items)))]
