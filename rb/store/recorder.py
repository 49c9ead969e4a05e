"""Writing a run to the store while it happens, without slowing it down.

The recorder is the only direct listener on the event bus. It turns each
event and exchange into rows and queues them; a writer thread commits
whatever has queued up in one transaction (group commit), and only then
passes those events on to the other listeners (console, reports, the
server's streams). So a step the console shows as done is already durable, a
killed process loses only what nobody was told about, and the run waits for
the disk only at its end, for what is still queued. Those listeners hear of
the run as recorded: its start and end events carry the recorded execution
id and world. While nothing happens the writer refreshes the execution's
heartbeat.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from rb.engine.events import (
    AssumptionChecked,
    Event,
    KpiChecked,
    Listener,
    RunFinished,
    RunStarted,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from rb.engine.outcome import ExecutionResult
from rb.model import Runbook
from rb.store import lease
from rb.store.bulk import bulk_insert
from rb.store.database import Store, StoreError
from rb.store.handoff import Handoff
from rb.store.queries import reap_interrupted
from rb.store.tables import exchanges, executions, step_logs

_STOP = object()
_BATCH = 2048  # most items one transaction takes
# The hot inserts go straight to the driver (rb/store/bulk.py); consecutive
# rows of one table are sent together.
_INSERT_EXECUTION = "execution"
_INSERT_STEP = "step"
_INSERT_EXCHANGE = "exchange"
_TABLES = {_INSERT_EXECUTION: executions, _INSERT_STEP: step_logs, _INSERT_EXCHANGE: exchanges}
# A step's row is built as a tuple in this order (the table's), not as a dict.
_STEP_COLUMNS = (
    "execution_id",
    "step_id",
    "seq",
    "started_at",
    "completed_at",
    "status",
    "attempts",
    "duration_seconds",
    "summary",
    "inputs",
    "outputs",
    "errors",
)
# What the run's thread queues for the writer: statement, row, event to pass on.
Item = tuple[Any, Any, Event | None]


class Recorder:
    """Records one run. Subscribe only it to the bus; it feeds `downstream`."""

    def __init__(
        self,
        store: Store,
        runbook: Runbook,
        *,
        actor: str,
        world: str,
        now: Callable[[], datetime],
        facts: Mapping[str, Any],
        replay_of: str | None = None,
        downstream: Sequence[Listener] = (),
        reap: bool = False,
    ) -> None:
        self.store = store
        self.runbook = runbook
        self.actor = actor
        self.world = world
        self.now = now
        self.facts = dict(facts)
        self.replay_of = replay_of
        self.downstream = list(downstream)
        self._reap = reap
        self.execution_id: str | None = None
        self.error: str | None = None
        self._seq = 0
        self._step_seq = 0
        self._attempt: dict[str, int] = {}
        self._assumptions: list[dict[str, Any]] = []
        self._kpis: list[dict[str, Any]] = []
        self._metadata: dict[str, Any] = {}
        self._queue: Handoff[Any] = Handoff()
        dialect = store.engine.dialect
        self._inserts = {kind: bulk_insert(table, dialect) for kind, table in _TABLES.items()}
        if self._inserts[_INSERT_STEP].columns != _STEP_COLUMNS:  # pragma: no cover - a bug
            raise AssertionError("step rows are built in another order than the table's")
        self._handlers: dict[type, Callable[[Any], Item | None]] = {
            StepStarted: self._on_step_started,
            StepSucceeded: self._on_step_ended,
            StepFailed: self._on_step_ended,
            StepSkipped: self._on_step_ended,
            RunStarted: self._on_run_started,
            AssumptionChecked: self._on_assumption,
            KpiChecked: self._on_kpi,
            RunFinished: self._on_run_finished,
        }
        self._connection = ExitStack()  # the writer's, opened when the run starts
        self._conn: Any = None
        self._writer = threading.Thread(target=self._write_loop, name="rb-recorder", daemon=True)

    # On the run's thread: turn events and exchanges into queued rows. ---------
    def exchange(
        self,
        step_id: str,
        kind: str,
        request: Mapping[str, Any],
        response: Mapping[str, Any] | None,
        error: Mapping[str, str] | None,
        latency: float,
    ) -> None:
        self._seq += 1
        row = {
            "execution_id": self.execution_id,
            "seq": self._seq,
            "step_id": step_id,
            "attempt": self._attempt.get(step_id, 1),
            "kind": kind,
            # Already detached from the live objects by the recording world.
            "request": request,
            "response": response,
            "error": error,
            "latency_seconds": latency,
        }
        self._queue.put((_INSERT_EXCHANGE, row, None))

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        item = handler(event) if handler is not None else None
        if item is None:
            if not self.downstream:
                return  # nothing to write and nobody to tell
            item = (None, None, event)
        if self._writer.ident is not None:
            self._queue.put(item)
            if type(event) is RunFinished:
                # Wait for the writer here, not after the event loop's teardown:
                # with this thread waiting, the writer has the interpreter lock
                # to itself instead of a turn per switch interval.
                self.close()
        else:  # before RunStarted there is nothing to write yet
            self._deliver([event])

    # Handlers return what to queue (statement, row, event to pass on), or
    # None when there is nothing to write. The two every step sends come
    # first: they run on the run's thread once per step, so they are lean.
    def _on_step_started(self, event: StepStarted) -> None:
        self._attempt[event.step_id] = event.attempt  # for the exchanges that follow

    def _on_step_ended(self, event: StepSucceeded | StepFailed | StepSkipped) -> Item:
        self._step_seq += 1
        step_id = event.step_id
        row: tuple[Any, ...]
        if isinstance(event, StepSucceeded):
            row = (
                "succeeded",
                event.attempts,
                event.duration_seconds,
                event.summary,
                event.inputs,
                dict(event.outputs),
                None,
            )
        elif isinstance(event, StepFailed):
            error = {"message": event.error}
            took = event.duration_seconds
            row = ("failed", event.attempts, took, None, event.inputs, None, error)
        else:
            row = ("skipped", 0, None, None, None, None, {"reason": event.reason})
        completed = self._wall()
        # A step's duration runs from its start to now: no clock read when it starts.
        duration = row[2]
        started = None if duration is None else completed - timedelta(seconds=duration)
        # In the table's column order (checked in __init__).
        values = (self.execution_id, step_id, self._step_seq, started, completed)
        return _INSERT_STEP, (*values, *row), event

    def _on_run_started(self, event: RunStarted) -> Item:
        row = self._execution_row(event)
        self._open_connection()
        self._writer.start()
        # Listeners hear of the run as recorded: under its stored id and world.
        told = dataclasses.replace(event, execution_id=row["id"], world=self.world)
        return _INSERT_EXECUTION, row, told

    def _on_assumption(self, event: AssumptionChecked) -> None:
        assumption = {"id": event.assumption_id, "ok": event.ok, "detail": event.detail}
        self._assumptions.append(assumption)

    def _on_kpi(self, event: KpiChecked) -> None:
        self._kpis.append(
            {"name": event.name, "measured": event.measured, "ok": event.ok, "detail": event.detail}
        )

    def _on_run_finished(self, event: RunFinished) -> Item:
        # Status, timings and what the run read and found, in one update.
        metadata = {
            **self._metadata,
            "assumptions": self._assumptions,
            "kpis": self._kpis,
            "error": event.error,
            "env": dict(event.env_read),
            "secrets": list(event.secrets_read),  # names only
        }
        statement = (
            executions.update()
            .where(executions.c.id == self.execution_id)
            .values(
                status=event.status,
                completed_at=self._wall(),
                duration_seconds=event.duration_seconds,
                heartbeat_at=datetime.now(UTC),
                metadata=metadata,
            )
        )
        stored_id = self.execution_id or event.execution_id
        return statement, {}, dataclasses.replace(event, execution_id=stored_id)

    def _wall(self) -> datetime:
        value = self.now()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def _execution_row(self, event: RunStarted) -> dict[str, Any]:
        # A live run is stored under the id it saw. Fixture and replay runs see
        # a seeded id (the same every time), so their record gets a fresh one.
        self.execution_id = event.execution_id if self.world == "live" else str(uuid.uuid4())
        text = self.runbook.source.text
        rb = self.runbook
        self._metadata = {
            "name": rb.name,
            "owner": rb.owner,
            "legal_basis": rb.legal_basis,
            "params": dict(event.params),
            "execution_id_seen": event.execution_id,
            "facts": self.facts,
        }
        return {
            "id": self.execution_id,
            "runbook_id": rb.id,
            "runbook_version": rb.version,
            "started_at": datetime.fromisoformat(event.started_at),
            "recorded_at": datetime.now(UTC),
            "status": "running",
            "actor_id": self.actor,
            "world": self.world,
            "replay_of": self.replay_of,
            "definition": text,
            "definition_hash": hashlib.sha256(text.encode()).hexdigest(),
            "definition_path": rb.source.path,
            "lease": lease.current(),
            "heartbeat_at": datetime.now(UTC),
            "metadata": self._metadata,
        }

    # On the writer thread: commit, then tell the other listeners. ------------
    def _open_connection(self) -> None:
        """The writer's connection, for the whole run, opened on the run's thread.

        Opened here, before the writer starts, because each round trip made
        on the writer costs it a wait for the interpreter lock (up to the
        switch interval) once the run holds it. Autocommit: each statement
        commits itself, with no BEGIN and COMMIT round trips.
        """
        try:
            conn = self._connection.enter_context(self.store.connect())
            self._conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        except StoreError as exc:  # keep the run going and delivering; report at the end
            self.error = str(exc)

    def _write_loop(self) -> None:
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
                self._deliver([event for _, _, event in batch if event is not None])
            if stop:
                if self._reap:  # never quiet: reap once the run is recorded
                    self._reap_dead(conn)
                return

    def _reap_dead(self, conn: Any) -> None:
        """Mark runs whose process died as interrupted (a side job of this writer)."""
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
            insert = self._inserts[kind]
            insert.run(conn, insert.rows(rows))

    def _deliver(self, events: list[Event]) -> None:
        for event in events:
            for listener in self.downstream:
                listener(event)

    def _beat(self, conn: Any) -> None:
        if conn is None or self.error is not None:
            return
        try:
            with self.store.transaction(conn):
                conn.execute(
                    executions.update()
                    .where(executions.c.id == self.execution_id)
                    .values(heartbeat_at=datetime.now(UTC))
                )
        except StoreError:
            pass  # the next write will report a real problem

    # After the run. -----------------------------------------------------------
    def close(self) -> None:
        """Wait until everything queued is committed and delivered (once is enough)."""
        if self._writer.ident is None:
            self._connection.close()
        elif self._writer.is_alive():
            self._queue.put(_STOP, wake=True)  # the last item: never left waiting
            self._writer.join()

    def finish(self, result: ExecutionResult) -> None:
        """Wait until the run is recorded; StoreError if recording failed.

        What the run read and found went into the execution's row with its
        end (RunFinished), in the writer's last transaction.
        """
        self.close()
        if self.error is not None:
            raise StoreError(
                f"recording failed ({self.error}); the run itself ended {result.status}"
            )
