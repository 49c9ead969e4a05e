"""The recorder's writer: a thread that commits queued rows, then passes events on.

The run's thread queues (statement, row, event) items; this thread takes
whatever has queued up, writes it in one transaction (group commit) and only
then tells the other listeners of those events. It keeps one connection for
the whole run, refreshes the execution's heartbeat while nothing happens,
and, as a side job, marks the runs of dead processes interrupted.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from typing import Any

from rb.engine.events import Event, Listener
from rb.store import lease
from rb.store.bulk import BulkInsert
from rb.store.database import Store, StoreError
from rb.store.handoff import Handoff
from rb.store.queries import reap_interrupted
from rb.store.tables import executions

# What the run's thread queues: a statement (or the name of a bulk insert, or
# None when there is nothing to write), its row, and the event to pass on.
Item = tuple[Any, Any, Event | None]

_STOP = object()
_BATCH = 2048  # most items one transaction takes


class Writer:
    """Writes one run's items on a thread of its own, then tells `downstream`."""

    def __init__(
        self,
        store: Store,
        inserts: Mapping[str, BulkInsert],
        downstream: Sequence[Listener],
        *,
        reap: bool,
    ) -> None:
        self.store = store
        self.inserts = inserts
        self.downstream = list(downstream)
        self.execution_id: str | None = None  # whose heartbeat to refresh
        self.error: str | None = None
        self._reap = reap
        self._queue: Handoff[Any] = Handoff()
        self._connection = ExitStack()
        self._conn: Any = None
        self._thread = threading.Thread(target=self._loop, name="rb-recorder", daemon=True)

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        """Open the connection (on the calling thread), then start writing.

        Opened here, on the run's thread before the run goes on, because each
        round trip made on the writer costs it a wait for the interpreter lock
        (up to the switch interval) once the run holds it. Autocommit: each
        statement commits itself, with no BEGIN and COMMIT round trips.
        """
        try:
            conn = self._connection.enter_context(self.store.connect())
            self._conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        except StoreError as exc:  # keep the run going and delivering; report at the end
            self.error = str(exc)
        self._thread.start()

    def put(self, item: Item) -> None:
        """Queue `item` (from the run's thread); it never waits."""
        self._queue.put(item)

    def close(self) -> None:
        """Wait until everything queued is committed and delivered (once is enough)."""
        if not self.started:
            self._connection.close()
        elif self._thread.is_alive():
            self._queue.put(_STOP, wake=True)  # the last item: never left waiting
            self._thread.join()

    def deliver(self, events: Sequence[Event]) -> None:
        """Tell every downstream listener of `events`, in order."""
        for event in events:
            for listener in self.downstream:
                listener(event)

    # On the writer's thread. --------------------------------------------------
    def _loop(self) -> None:
        try:
            self._drain(self._conn)
        finally:
            self._connection.close()

    def _drain(self, conn: Any) -> None:
        while True:
            if self._reap and not self._queue.pending():
                self._reap_dead(conn)  # a quiet moment (a live run waiting on the world)
            batch = self._queue.take(_BATCH, timeout=lease.HEARTBEAT_SECONDS)
            if not batch:
                self._beat(conn)
                continue
            stop = _STOP in batch
            if stop:
                batch = [item for item in batch if item is not _STOP]
            self._commit(conn, batch)
            if self.downstream:
                self.deliver([event for _, _, event in batch if event is not None])
            if stop:
                if self._reap:  # never quiet: reap once the run is recorded
                    self._reap_dead(conn)
                return

    def _reap_dead(self, conn: Any) -> None:
        """Mark runs whose process died as interrupted."""
        self._reap = False
        if conn is None or self.error is not None:
            return
        # Not this run's business if it fails: the next command to open the store reaps.
        with suppress(StoreError):
            reap_interrupted(self.store, conn)

    def _commit(self, conn: Any, items: list[Item]) -> None:
        if self.error is not None or conn is None:
            return  # already failing: keep the run going, report at the end
        try:
            with self.store.transaction(conn):
                # Consecutive rows of one table go in one insert; updates keep
                # their place in the order. Events with nothing to write (a
                # step started) are only passed on.
                kind: str | None = None
                rows: list[Any] = []
                for statement, row, _ in items:
                    if statement is None:
                        continue
                    if statement.__class__ is str:
                        if statement is not kind:
                            self._insert(conn, kind, rows)
                            kind, rows = statement, []
                        rows.append(row)
                    else:
                        self._insert(conn, kind, rows)
                        kind, rows = None, []
                        conn.execute(statement)
                self._insert(conn, kind, rows)
        except StoreError as exc:
            self.error = str(exc)

    def _insert(self, conn: Any, kind: str | None, rows: list[Any]) -> None:
        if kind is not None and rows:
            insert = self.inserts[kind]
            insert.run(conn, insert.rows(rows))

    def _beat(self, conn: Any) -> None:
        if conn is None or self.error is not None:
            return
        # A failure here is not reported: the next write will report a real problem.
        with suppress(StoreError), self.store.transaction(conn):
            conn.execute(
                executions.update()
                .where(executions.c.id == self.execution_id)
                .values(heartbeat_at=datetime.now(UTC))
            )
