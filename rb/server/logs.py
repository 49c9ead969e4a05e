"""Log lines a client can trigger at will are rate-limited.

Every malformed request makes uvicorn log "Invalid HTTP request received.",
and a flood of connections makes asyncio log each failed accept: a probe grew
the log by 195 MB in 45 s. `RateLimit` lets `burst` records of one message
through per `window` seconds and drops the rest, saying how many it dropped
on the next record it lets through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

# Loggers whose lines outsiders can cause (uvicorn's protocol errors, asyncio's
# accept errors, rb's connection limit).
NOISY_LOGGERS = ("uvicorn.error", "asyncio", "rb.server.connections")


@dataclass
class _Window:
    started: float
    passed: int = 0
    dropped: int = 0


class RateLimit(logging.Filter):
    """At most `burst` records per message template per `window` seconds."""

    def __init__(
        self, burst: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._clock = clock
        self._windows: dict[tuple[str, object], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = self._clock()
        current = self._windows.get(key)
        if current is None or now - current.started >= self.window:
            dropped = current.dropped if current else 0
            current = self._windows[key] = _Window(now)
            if dropped:
                record.msg = f"{record.msg} ({dropped} more like it not logged)"
        if current.passed >= self.burst:
            current.dropped += 1
            return False
        current.passed += 1
        return True


def limit_noisy_logs(burst: int = 10, window: float = 60.0) -> None:
    """Put one RateLimit on each logger in NOISY_LOGGERS (once per process)."""
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimit) for f in logger.filters):
            logger.addFilter(RateLimit(burst, window))
