"""The writer processes of this process: one per store, shared by its recordings.

`_Child` starts one (rb/store/writer_process.py is its program), sends it
frames and reads its answers on a thread of its own, handing each run
(rb/store/writer.py's `Writer`) its acknowledgements. A child that died is
replaced for the next run; at exit each is told its input has ended, and
commits what it has read.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rb.store import lease, writer_process
from rb.store.bulk import BulkInsert
from rb.store.database import Store, StoreError
from rb.store.row_specs import EXECUTIONS
from rb.store.sqlite_setup import SQLITE_PRAGMAS

if TYPE_CHECKING:
    from rb.store.writer import Writer

# The execution's own row: inserted by the recording process, not the child.
INSERT_EXECUTION = "execution"
# How long a lost PostgreSQL connection is made again before a write fails
# (the writer process's and the recording process's own): a restart or a
# failover shorter than this loses nothing.
RECONNECT_SECONDS = 30.0


class _Child:
    """One writer process, shared by the runs recording to one store."""

    def __init__(self, store: Store, inserts: Mapping[str, BulkInsert]) -> None:
        self.shown = store.shown
        try:
            self.process = writer_process.started()
        except OSError as exc:
            raise StoreError(f"cannot start the writer for {self.shown}: {exc}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()
        self._lock = threading.Lock()  # one frame at a time
        # A lock of its own: the reader must never wait for a write to the
        # child, which may be waiting for the reader to take its answers.
        self._runs_lock = threading.Lock()
        self._runs: dict[int, Writer] = {}
        self.failure: str | None = None
        self.send(("init", *_connection(store, inserts)))
        self._reader = threading.Thread(target=self._read, name="rb-writer-acks", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.failure is None and self.process.poll() is None

    def attach(self, run: Writer) -> None:
        with self._runs_lock:
            self._runs[run._token] = run
        if self.failure is not None:
            raise StoreError(self.failure)

    def detach(self, run: Writer) -> None:
        with self._runs_lock:
            self._runs.pop(run._token, None)
        self.send(("close", run._token))

    def send(self, message: tuple[Any, ...]) -> None:
        data = memoryview(writer_process.frame(message))
        with self._lock:
            try:
                while data:
                    data = data[os.write(self._in, data) :]
            except OSError:
                pass  # the child is gone: the reader fails the runs

    def close(self) -> None:
        """End the child's input: it commits what it has read, then exits.

        Nothing waits for that: every run already waited for its rows.
        """
        if self.process.stdin is not None:
            self.process.stdin.close()

    def discard(self) -> None:
        """Let go of a child that failed: its pipes closed, the process reaped."""
        self.close()
        self._reader.join()  # it ends at the end of the child's output
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process.wait()

    def _read(self) -> None:
        while True:
            message = writer_process.read_frame(self._out)
            if message is None:
                self._fail(self.failure or f"the writer for {self.shown} stopped")
                return
            kind = message[0]
            if kind == "fatal":
                self.failure = f"cannot reach database {self.shown}: {message[1]}"
            elif kind in ("ok", "error"):
                with self._runs_lock:
                    run = self._runs.get(message[1])
                if run is None:
                    continue
                if kind == "ok":
                    run._acknowledge(message[2], None)
                else:
                    run._acknowledge(None, f"database {self.shown}: {message[2]}", message[3])

    def _fail(self, error: str) -> None:
        self.failure = error
        with self._runs_lock:
            runs = list(self._runs.values())
        for run in runs:
            run._acknowledge(None, error)


def _connection(
    store: Store, inserts: Mapping[str, BulkInsert]
) -> tuple[str, str, list[str], dict[str, Any], str, float, float]:
    """What the child needs: driver, target, setup, the statements of the tables
    it writes (all but the execution's own), the heartbeat and its interval,
    and how long to make a lost connection again."""
    tables = {kind: i.statements() for kind, i in inserts.items() if kind != INSERT_EXECUTION}
    if store.is_sqlite:
        beat = f"UPDATE {EXECUTIONS} SET heartbeat_at = ? WHERE id = ?"
        setup = list(SQLITE_PRAGMAS)
        every = lease.HEARTBEAT_SECONDS
        return "sqlite", store.target(), setup, tables, beat, every, RECONNECT_SECONDS
    beat = f"UPDATE {EXECUTIONS} SET heartbeat_at = %s WHERE id = %s"
    return (
        "postgresql",
        store.target(),
        [],
        tables,
        beat,
        lease.HEARTBEAT_SECONDS,
        RECONNECT_SECONDS,
    )


_CHILDREN: dict[str, _Child] = {}
_CHILDREN_LOCK = threading.Lock()


def _child_for(store: Store, inserts: Mapping[str, BulkInsert]) -> _Child:
    with _CHILDREN_LOCK:
        child = _CHILDREN.get(store.url)
        if child is None or not child.alive:
            if child is not None:
                child.discard()
            child = _CHILDREN[store.url] = _Child(store, inserts)
        return child


@atexit.register
def _close_children() -> None:
    # Whatever was sent is committed before this process ends.
    with _CHILDREN_LOCK:
        children = list(_CHILDREN.values())
        _CHILDREN.clear()
    for child in children:
        child.close()
