"""The server's one store: opened at start, migrated on first contact.

A server may start before its database is reachable (a PostgreSQL that is
still starting): it serves `/health/live` at once, answers `/health/ready`
with 503 until the database answers, and migrates and reaps interrupted runs
the first time it does.
"""

from __future__ import annotations

import threading

from rb.store.database import Store, ensure_schema


class ServerStore:
    """One connection pool for every request and run, sized for the worker pool."""

    def __init__(self, url: str, *, workers: int) -> None:
        # Each running execution holds at most one connection at a time (its
        # recorder's writer), and requests read beside them: room for both.
        self.store = Store(url, pool_size=workers + 4)
        self.shown = self.store.shown
        self._lock = threading.Lock()
        self._ready = False

    def ready(self) -> Store:
        """The store, migrated; raises StoreError while it cannot be reached."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    from rb.store.queries import reap_interrupted

                    ensure_schema(self.store)
                    # Runs a killed process left `running` (this server's own
                    # runs have a live lease and are left alone).
                    reap_interrupted(self.store)
                    self._ready = True
        return self.store

    def ping(self) -> None:
        """Reach the database now; raises StoreError when it does not answer."""
        import sqlalchemy

        store = self.ready()
        with store.begin() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))

    def close(self) -> None:
        self.store.dispose()
