"""Every SQLite connection's settings, and how to apply them on a new connection.

Only the standard library is imported here. The writer process, which runs
without rb, is sent the pragmas as text and runs them plainly: by then the
store is migrated and already in WAL mode.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

# WAL with synchronous=NORMAL: a commit survives the process being killed.
# busy_timeout comes first so every later statement waits out another's lock.
SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

_LOCKED_WAIT_SECONDS = 10.0  # as long as busy_timeout waits


def apply_pragmas(conn: Any, pragmas: Iterable[str] = SQLITE_PRAGMAS) -> None:
    """Run `pragmas` on a new DB-API SQLite connection (or cursor).

    Switching a fresh file to WAL needs its exclusive lock, and SQLite answers
    "database is locked" at once, without calling the busy handler, when another
    connection is reading the file at that moment (many first runs starting
    together). So a locked pragma is tried again, for as long as busy_timeout
    would have waited, before the error stands.
    """
    import sqlite3  # here: a store that is PostgreSQL never loads it

    for pragma in pragmas:
        give_up = time.monotonic() + _LOCKED_WAIT_SECONDS
        pause = 0.001
        while True:
            try:
                conn.execute(pragma)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= give_up:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
