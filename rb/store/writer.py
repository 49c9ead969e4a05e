"""The recorder's writer: a process of its own inserts the rows, then events pass on.

A thread of this process would share the interpreter lock with the run: each
time the driver let go of it, the writer waited up to a switch interval to
get it back, so it fell behind and most rows were written at the end while
the run waited. A writer process (rb/store/writer_process.py, one per store
per process) inserts in parallel instead. The run's thread converts each row
to what the driver takes and sends batches down a pipe; nothing it sends is
lost if this process is killed, since the child commits all it has read.

The execution's own row is inserted here, before the run goes on (the rows
sent later refer to it), and its final update is made here once the child
has acknowledged every row before it. Listeners hear of an event only once
what came with it is committed: a sync follows the event (in a live run
each one; in a fixture or replay run, which takes no real time, every 64
events or 50 ms), and the child's acknowledgement delivers it (on this
module's reader thread); without listeners rows go in batches and the end
waits for one acknowledgement.

When the store cannot take a row (the writer died, the database went away
for longer than RECONNECT_SECONDS, a locked or full SQLite file), events not
committed are never passed on, and the run stops before its next step
(`check`, raising RecordingFailed). In a live world a step starts only once
everything before it is committed, so no step runs unrecorded after one
that could not be stored; under a fixture nothing outside changes, and the
run stops as soon as the failure is known.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from rb.engine.events import Event, Listener
from rb.store import writer_child
from rb.store.bulk import BulkInsert
from rb.store.database import DriverWrite, Store, StoreError
from rb.store.reaper import reap_interrupted
from rb.store.writer_child import INSERT_EXECUTION, _Child, _child_for

# What the run's thread queues: a statement (or the name of a bulk insert, or
# None when there is nothing to write), its row, and the event to pass on.
Item = tuple[Any, Any, Event | None]

_ROWS_PER_FRAME = 64
# How long a fixture or replay run's events may wait to be told, at most
# (while the run goes on; its end tells the rest).
_BATCH_SECONDS = 0.05
_tokens = itertools.count(1)


class RecordingFailed(StoreError):
    """The store could not take the run's rows: the run stops before its next step."""


class Writer:
    """Writes one run's items through the store's writer process."""

    def __init__(
        self,
        store: Store,
        inserts: Mapping[str, BulkInsert],
        downstream: Sequence[Listener],
        *,
        reap: bool,
        strict: bool = False,
    ) -> None:
        self.store = store
        # Live: a step starts only once all before it is committed.
        self.strict = strict
        self.inserts = inserts
        self.downstream = list(downstream)
        self.execution_id: str | None = None
        self.error: str | None = None
        # What a listener raised on the reader thread, for the run's thread to raise.
        self.crash: Exception | None = None
        self.started = False
        self._reap = reap
        self._token = next(_tokens)
        self._child: _Child | None = None
        self._rows: list[Any] = []  # rows of `_table`, as the recorder made them
        self._table = ""
        self._events: list[Event] = []  # to pass on after the next sync
        self._since = 0.0  # when the oldest of them came
        self._seq = 0
        self._unsynced = False  # rows sent since the last sync
        self._unacked: deque[tuple[int, list[Event]]] = deque()
        self._acked = threading.Condition()

    def start(self) -> None:
        """Begin the run (on the run's thread, before the run goes on)."""
        self.started = True
        try:
            self._child = _child_for(self.store, self.inserts)
            self._child.attach(self)
        except StoreError as exc:  # the run stops before its first step (`check`)
            self.error = str(exc)

    def check(self) -> None:
        """Before a step starts: RecordingFailed if the store could not take the run.

        In a strict (live) run this waits until everything sent is committed.
        """
        if self.strict:
            self._wait_acknowledged()
        self._raise_crash()
        if self.error is not None:
            raise RecordingFailed(self.error)

    def _raise_crash(self) -> None:
        crash, self.crash = self.crash, None
        if crash is not None:
            raise crash

    def put(self, item: Item) -> None:
        """Take one item from the run's thread."""
        statement, row, event = item
        if statement.__class__ is str:
            if statement == INSERT_EXECUTION:
                self._insert_execution(row)
                if event is not None:
                    self.deliver([event])
                return
            if statement != self._table or len(self._rows) >= _ROWS_PER_FRAME:
                self._send_rows()
                self._table = statement
            self._rows.append(row)
        elif statement is not None:  # the run's final update: after every row
            self._wait_acknowledged()
            # Made even when recording failed: it then says so, if the store can be reached.
            failed = self.error
            self._update(statement(failed))
            if event is not None and failed is None and self.error is None:
                self.deliver([event])
            return
        if event is not None and self.downstream:
            if not self._events:
                self._since = time.monotonic()
            self._events.append(event)
            # A live run's listeners hear of each event once it is committed;
            # a fixture or replay run takes no real time, and its events are
            # told in batches (one commit and one acknowledgement for many).
            if (
                self.strict
                or len(self._events) >= _ROWS_PER_FRAME
                or time.monotonic() - self._since >= _BATCH_SECONDS
            ):
                self._sync()

    def close(self) -> None:
        """Wait until everything sent is committed and delivered (once is enough)."""
        if not self.started:
            return
        self._wait_acknowledged()
        child, self._child = self._child, None
        if child is not None:
            child.detach(self)
        if self._reap:
            self._reap = False
            # Not this run's business if it fails: the next command to open the store reaps.
            with suppress(StoreError):
                reap_interrupted(self.store)
        self._raise_crash()

    def deliver(self, events: Sequence[Event]) -> None:
        """Tell every downstream listener of `events`, in order."""
        for event in events:
            for listener in self.downstream:
                listener(event)

    # Sending (the run's thread). -----------------------------------------------
    def _send_rows(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        if self._child is None or self.error is not None:
            return
        insert = self.inserts[self._table]
        try:
            converted = insert.rows(rows)
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold (NaN, complex, …)
            self.error = f"cannot store a {self._table} row: {exc}"
            return
        self._child.send(("rows", self._token, self._table, converted))
        self._unsynced = True

    def _sync(self) -> None:
        self._send_rows()
        self._unsynced = False
        self._seq += 1
        with self._acked:
            self._unacked.append((self._seq, self._events))
            failed = self._child is None or self.error is not None
        self._events = []
        if failed:
            self._acknowledge(None, None)
            return
        assert self._child is not None
        self._child.send(("sync", self._token, self._seq))

    def _wait_acknowledged(self) -> None:
        if not (self._rows or self._events or self._unsynced or self._unacked):
            return  # nothing sent since the last acknowledgement
        self._sync()
        with self._acked:
            while self._unacked:
                self._acked.wait()

    def _insert_execution(self, row: Mapping[str, Any]) -> None:
        self.execution_id = row["id"]
        if self._child is not None:
            self._child.send(("open", self._token, self.execution_id))
        insert = self.inserts[INSERT_EXECUTION]
        try:
            self._retrying(lambda conn: insert.run(conn, insert.rows([row])))
        except StoreError as exc:
            self.error = self.error or str(exc)

    def reopen(self, execution_id: str, values: Mapping[str, Any]) -> None:
        """Continue an execution already in the store (a resume): its row is
        updated with `values` where a new run's would be inserted."""
        self.execution_id = execution_id
        if self._child is not None:
            self._child.send(("open", self._token, execution_id))
        self._update(values)

    def _update(self, values: Mapping[str, Any]) -> None:
        """Update the execution's row (through the driver, in this process)."""
        statement, params = self.inserts[INSERT_EXECUTION].update(values, "id", self.execution_id)
        try:
            self._retrying(lambda conn: conn.execute(statement, params))
        except StoreError as exc:
            self.error = self.error or str(exc)

    def _retrying(self, write: Callable[[DriverWrite], None]) -> None:
        """`write(conn)` in a transaction of this process's own; a PostgreSQL
        connection that was lost is made again for up to RECONNECT_SECONDS."""
        deadline = time.monotonic() + writer_child.RECONNECT_SECONDS
        delay = 0.05
        while True:
            try:
                with self.store.write() as conn:
                    write(conn)
                return
            except StoreError as exc:
                # SQLite waits out a lock itself (busy_timeout); a refused
                # statement fails the same way every time.
                reachable = not str(exc).startswith("cannot reach")
                if self.store.is_sqlite or reachable or time.monotonic() >= deadline:
                    raise
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    # Acknowledgements (the reader thread). --------------------------------------
    def _acknowledge(self, seq: int | None, error: str | None, committed: int = 0) -> None:
        """Everything up to `seq` (None: all sent) is committed, or failed with `error`.

        On a failure only the events up to `committed` are passed on (their
        rows are in the store); the others are dropped, never shown as done.
        """
        ready: list[Event] = []
        with self._acked:
            if error is not None and self.error is None:
                self.error = error
            while self._unacked and (seq is None or self._unacked[0][0] <= seq):
                number, events = self._unacked.popleft()
                if self.error is None or number <= committed:
                    ready.extend(events)
        try:
            self.deliver(ready)
        except Exception as exc:  # a listener's bug: raised on the run's thread, not lost here
            self.crash = self.crash or exc
        with self._acked:
            self._acked.notify_all()
