"""Writing a run to the store while it happens, without slowing it down.

The recorder is the only direct listener on the event bus. It turns each
event and exchange into rows and queues them; a writer thread commits
whatever has queued up in one transaction (group commit), and only then
passes those events on to the other listeners (console, reports, the
server's streams). So a step the console shows as done is already durable, a
killed process loses only what nobody was told about, and the run itself
never waits for the disk. Those listeners hear of the run as recorded: its
start and end events carry the recorded execution id and world. While
nothing happens the writer refreshes the execution's heartbeat.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby
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
from rb.store.tables import exchanges, executions, step_logs

_STOP = object()
_BATCH = 500  # most items one transaction takes
# The hot inserts go straight to the driver (rb/store/bulk.py); consecutive
# rows of one table are sent in one executemany.
_INSERT_EXECUTION = "execution"
_INSERT_STEP = "step"
_INSERT_EXCHANGE = "exchange"
_TABLES = {_INSERT_EXECUTION: executions, _INSERT_STEP: step_logs, _INSERT_EXCHANGE: exchanges}


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
    ) -> None:
        self.store = store
        self.runbook = runbook
        self.actor = actor
        self.world = world
        self.now = now
        self.facts = dict(facts)
        self.replay_of = replay_of
        self.downstream = list(downstream)
        self.execution_id: str | None = None
        self.error: str | None = None
        self._seq = 0
        self._step_seq = 0
        self._attempt: dict[str, int] = {}
        self._started: dict[str, datetime] = {}
        self._assumptions: list[dict[str, Any]] = []
        self._kpis: list[dict[str, Any]] = []
        self._metadata: dict[str, Any] = {}
        self._queue: Handoff[Any] = Handoff()
        dialect = store.engine.dialect
        self._inserts = {kind: bulk_insert(table, dialect) for kind, table in _TABLES.items()}
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
        statement: Any = None
        row: Any = None
        # The two events every step sends come first: this is the run's thread.
        if isinstance(event, StepStarted):
            self._attempt[event.step_id] = event.attempt
            if event.step_id not in self._started:
                self._started[event.step_id] = self._wall()
            if not self.downstream:
                return  # nothing to write and nobody to tell
        elif isinstance(event, StepSucceeded | StepFailed | StepSkipped):
            statement, row = _INSERT_STEP, self._step_row(event)
        elif isinstance(event, RunStarted):
            statement, row = _INSERT_EXECUTION, self._execution_row(event)
            event = dataclasses.replace(
                event, execution_id=self.execution_id or event.execution_id, world=self.world
            )
            self._writer.start()
        elif isinstance(event, AssumptionChecked):
            self._assumptions.append(
                {"id": event.assumption_id, "ok": event.ok, "detail": event.detail}
            )
        elif isinstance(event, KpiChecked):
            self._kpis.append(
                {
                    "name": event.name,
                    "measured": event.measured,
                    "ok": event.ok,
                    "detail": event.detail,
                }
            )
        elif isinstance(event, RunFinished):
            statement = (
                executions.update()
                .where(executions.c.id == self.execution_id)
                .values(
                    status=event.status,
                    completed_at=self._wall(),
                    duration_seconds=event.duration_seconds,
                    heartbeat_at=datetime.now(UTC),
                )
            )
            row = {}
            if self.execution_id is not None:
                event = dataclasses.replace(event, execution_id=self.execution_id)
        if self._writer.ident is not None:
            self._queue.put((statement, row, event))
        else:  # before RunStarted there is nothing to write yet
            self._deliver([event])

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

    def _step_row(self, event: StepSucceeded | StepFailed | StepSkipped) -> dict[str, Any]:
        self._step_seq += 1
        errors: dict[str, str] | None = None
        if isinstance(event, StepFailed):
            errors = {"message": event.error}
        elif isinstance(event, StepSkipped):
            errors = {"reason": event.reason}
        return {
            "execution_id": self.execution_id,
            "step_id": event.step_id,
            "seq": self._step_seq,
            "started_at": self._started.get(event.step_id),
            "completed_at": self._wall(),
            "status": {StepSucceeded: "succeeded", StepFailed: "failed"}.get(
                type(event), "skipped"
            ),
            "attempts": getattr(event, "attempts", 0),
            "duration_seconds": getattr(event, "duration_seconds", None),
            "summary": getattr(event, "summary", None),
            "inputs": getattr(event, "inputs", None),
            "outputs": dict(event.outputs) if isinstance(event, StepSucceeded) else None,
            "errors": errors,
        }

    # On the writer thread: commit, then tell the other listeners. ------------
    def _write_loop(self) -> None:
        try:
            # One connection for the whole run: no pool checkout, no ping per
            # batch. Autocommit: each statement commits itself, so no BEGIN and
            # COMMIT round trips, each of which costs this thread a wait for the
            # interpreter lock while the run holds it.
            with self.store.connect() as conn:
                self._drain(conn.execution_options(isolation_level="AUTOCOMMIT"))
        except StoreError as exc:  # could not connect: keep delivering, report at the end
            self.error = self.error or str(exc)
            self._drain(None)

    def _drain(self, conn: Any) -> None:
        while True:
            batch = self._queue.take(_BATCH, timeout=lease.HEARTBEAT_SECONDS)
            if not batch:
                self._beat(conn)
                continue
            stop = any(item is _STOP for item in batch)
            items = [item for item in batch if item is not _STOP]
            self._commit(conn, items)
            self._deliver([event for _, _, event in items if event is not None])
            if stop:
                return

    def _commit(self, conn: Any, items: list[tuple[Any, Any, Event | None]]) -> None:
        if self.error is not None or conn is None:
            return  # already failing: keep the run going, report at the end
        # Events with nothing to write (a step started) are only passed on.
        writes = [(statement, row) for statement, row, _ in items if statement is not None]
        if not writes:
            return
        try:
            with self.store.transaction(conn):
                # Consecutive rows of one table go in one insert; updates keep
                # their place in the order.
                for key, group in groupby(
                    writes, key=lambda w: w[0] if isinstance(w[0], str) else id(w)
                ):
                    if isinstance(key, str):
                        insert = self._inserts[key]
                        insert.run(conn, [insert.values(row) for _, row in group])
                    else:
                        for statement, _ in group:
                            conn.execute(statement)
        except StoreError as exc:
            self.error = str(exc)

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
        """Wait until everything queued is committed and delivered."""
        if self._writer.ident is not None:
            self._queue.put(_STOP)
            self._writer.join()

    def finish(self, result: ExecutionResult) -> None:
        """What the run read and found, into the execution's metadata."""
        self.close()
        if self.error is not None:
            raise StoreError(
                f"recording failed ({self.error}); the run itself ended {result.status}"
            )
        if self.execution_id is None:
            return
        # The metadata written at the start, completed: no need to read it back.
        metadata = {
            **self._metadata,
            "assumptions": self._assumptions,
            "kpis": self._kpis,
            "error": result.error,
            "env": result.env_read,
            "secrets": list(result.secrets_read),  # names only
        }
        with self.store.begin() as conn:
            conn.execute(
                executions.update()
                .where(executions.c.id == self.execution_id)
                .values(metadata=metadata)
            )
