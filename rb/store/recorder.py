"""Writing a run to the store while it happens, without slowing it down.

The recorder is the only direct listener on the event bus. It turns each
event and exchange into rows and hands them to its writer
(rb/store/writer.py), which has a process of its own commit them and only
then passes those events on to the other listeners (console, reports, the
server's streams). So a step the console shows as done is already durable.
A fixture run waits for the disk only at its end, for what is still being
written; a live run also before each step (what the steps before it did is
committed first), and a run whose recording failed stops before its next
step. Those listeners hear of the run as recorded: its start and end
events carry the recorded execution id and world.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
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
from rb.store.continuation import Continuation
from rb.store.database import Store, StoreError
from rb.store.row_specs import EXCHANGES, EXECUTIONS, STEP_LOGS
from rb.store.writer import Item, RecordingFailed, Writer
from rb.store.writer_child import INSERT_EXECUTION

# The hot inserts go straight to the driver (rb/store/bulk.py), in the
# writer process; consecutive rows of one table are sent together.
_INSERT_STEP = "step"
_INSERT_EXCHANGE = "exchange"
_TABLES = {
    INSERT_EXECUTION: EXECUTIONS,
    _INSERT_STEP: STEP_LOGS,
    _INSERT_EXCHANGE: EXCHANGES,
}
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
    "run_attempt",
)


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
        continuing: Continuation | None = None,
        environment: str | None = None,
        actor_verified: bool = False,
    ) -> None:
        self.store = store
        self.environment = environment
        self.actor_verified = actor_verified
        self.runbook = runbook
        self.actor = actor
        self.world = world
        self.now = now
        self.facts = dict(facts)
        self.replay_of = replay_of
        self.execution_id: str | None = None
        self.run_attempt = 1  # which start of the execution this is (a resume adds one)
        self._seq = 0
        self._step_seq = 0
        self._attempt: dict[str, int] = {}
        self._assumptions: list[dict[str, Any]] = []
        self._kpis: list[dict[str, Any]] = []
        self._metadata: dict[str, Any] = {}
        self._last_wall: tuple[datetime | None, datetime] = (None, datetime.now(UTC))
        self.continuing = continuing
        if continuing is not None:
            self.run_attempt = continuing.run_attempt
            self._seq, self._step_seq = continuing.exchange_seq, continuing.step_seq
            # A resume does not check them again: the verdicts of the first start stand.
            self._assumptions = list(continuing.metadata.get("assumptions") or [])
        inserts = {
            kind: bulk_insert(table, store.dialect, store.driver) for kind, table in _TABLES.items()
        }
        if inserts[_INSERT_STEP].columns != _STEP_COLUMNS:  # pragma: no cover - a bug
            raise AssertionError("step rows are built in another order than the table's")
        # A live run's steps change the world: each starts only once all
        # before it is committed (rb/store/writer.py).
        self._writer = Writer(store, inserts, downstream, reap=reap, strict=world == "live")
        self.stopped_before: str | None = None  # the step recording failure stopped
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
            "run_attempt": self.run_attempt,
        }
        self._writer.put((_INSERT_EXCHANGE, row, None))

    def __call__(self, event: Event) -> None:
        writer = self._writer
        if event.__class__ is StepStarted and writer.started:
            # Most steps find nothing to check: no writer call then (per step).
            if writer.strict or writer.error is not None or writer.crash is not None:
                self._check(event)
            self._attempt[event.step_id] = event.attempt
            if writer.downstream:
                writer.put((None, None, event))
            return
        handler = self._handlers.get(type(event))
        item = handler(event) if handler is not None else None
        if item is None:
            if not writer.downstream:
                return  # nothing to write and nobody to tell
            item = (None, None, event)
        if writer.started:
            writer.put(item)
            if type(event) is RunFinished:
                # Wait for the writer here, not after the event loop's teardown:
                # with this thread waiting, the writer has the interpreter lock
                # to itself instead of a turn per switch interval.
                writer.close()
        else:  # before RunStarted there is nothing to write yet
            writer.deliver([event])

    def _check(self, event: StepStarted) -> None:
        """Stop the run here (RecordingFailed) when the store could not take it."""
        try:
            self._writer.check()
        except RecordingFailed:
            self.stopped_before = event.step_id
            raise

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
            # The kind (rb.errors.ERROR_KINDS) lets `rb runs stats` count failures by kind.
            error = {"message": event.error, "kind": event.error_kind}
            took = event.duration_seconds
            row = ("failed", event.attempts, took, None, event.inputs, None, error)
        else:
            row = ("skipped", 0, None, None, None, None, {"reason": event.reason})
        completed = self._wall()
        # A step's duration runs from its start to now: no clock read when it starts.
        duration = row[2]
        if duration is None:
            started = None
        elif duration:
            started = completed - timedelta(seconds=duration)
        else:
            started = completed  # a no-op, or virtual time that stood still
        # In the table's column order (checked in __init__).
        values = (self.execution_id, step_id, self._step_seq, started, completed)
        return _INSERT_STEP, (*values, *row, self.run_attempt), event

    def _on_run_started(self, event: RunStarted) -> Item:
        if self.continuing is not None:
            return self._continue(event)
        row = self._execution_row(event)
        self._writer.execution_id = row["id"]
        self._writer.start()
        # Listeners hear of the run as recorded: under its stored id and world.
        told = dataclasses.replace(event, execution_id=row["id"], world=self.world)
        return INSERT_EXECUTION, row, told

    def _continue(self, event: RunStarted) -> Item:
        """Take up the recorded execution again: its row says running, under this lease."""
        assert self.continuing is not None
        c = self.continuing
        self.execution_id = c.execution_id
        values: dict[str, Any] = {}
        if c.first_start:
            # A queued row: this is the run's first start, recorded as a fresh
            # run would be, under the id it had while it waited.
            # The worker that starts it may hold a newer file than the one
            # queued: the record keeps what ran, which a resume runs again.
            self._metadata = {**c.metadata, **self._first_metadata(event)}
            text = self.runbook.source.text
            values.update(
                started_at=datetime.fromisoformat(event.started_at),
                runbook_version=self.runbook.version,
                definition=text,
                definition_hash=self.runbook.definition_hash,
                definition_path=self.runbook.source.path,
            )
        else:
            this = {
                "run_attempt": c.run_attempt,
                "actor": self.actor,
                "started_at": datetime.now(UTC).isoformat(),
                "reason": c.reason,
            }
            self._metadata = {**c.metadata, "attempts": [*c.attempts, this]}
        update = {
            "status": "running",
            "completed_at": None,
            "lease": lease.current(),
            "heartbeat_at": datetime.now(UTC),
            "run_attempt": c.run_attempt,
            "waiting_for": None,
            "metadata": self._metadata,
            **values,
        }
        self._writer.execution_id = c.execution_id
        self._writer.start()
        self._writer.reopen(c.execution_id, update)
        told = dataclasses.replace(event, execution_id=c.execution_id, world=self.world)
        return None, None, told

    def _on_assumption(self, event: AssumptionChecked) -> None:
        assumption = {"id": event.assumption_id, "ok": event.ok, "detail": event.detail}
        self._assumptions.append(assumption)

    def _on_kpi(self, event: KpiChecked) -> None:
        self._kpis.append(
            {"name": event.name, "measured": event.measured, "ok": event.ok, "detail": event.detail}
        )

    def _on_run_finished(self, event: RunFinished) -> Item:
        # Status, timings and what the run read and found, in one update. The
        # writer makes it after every row, and says whether recording failed.
        def statement(failed: str | None) -> Any:
            status, error = event.status, event.error
            if failed is not None:
                status, error = "failure", f"recording failed ({failed}); the run ended {status}"
            return self._final(status, error, event.duration_seconds, event)

        stored_id = self.execution_id or event.execution_id
        return statement, {}, dataclasses.replace(event, execution_id=stored_id)

    def _final(
        self, status: str, error: str, duration: float | None, event: RunFinished | None = None
    ) -> dict[str, Any]:
        """The execution's row as the run ends (the columns to update)."""
        metadata = {
            **self._metadata,
            **self._attempt_ended(status),
            "assumptions": self._assumptions,
            "kpis": self._kpis,
            "error": error,
            "env": dict(event.env_read) if event else {},
            "secrets": list(event.secrets_read) if event else [],  # names only
        }
        waiting = status == "waiting"
        values: dict[str, Any] = {
            "status": status,
            "completed_at": None if waiting else self._wall(),
            "duration_seconds": duration,
            "heartbeat_at": datetime.now(UTC),
            "metadata": metadata,
            "waiting_for": list(event.waiting_for) if waiting and event else None,
        }
        if waiting:
            values["lease"] = None  # parked: no process holds it, and the reaper leaves it
        return values

    def _attempt_ended(self, status: str) -> dict[str, Any]:
        """A continued execution's attempts list, with how this start ended."""
        attempts = self._metadata.get("attempts")
        if not attempts:
            return {}
        return {"attempts": [*attempts[:-1], {**attempts[-1], "status": status}]}

    def _wall(self) -> datetime:
        value = self.now()
        if value.tzinfo:
            return value
        # A frozen or virtual clock hands back the same time over and over:
        # the same aware time then, which the writer converts only once.
        last = self._last_wall
        if last[0] is not value:
            last = self._last_wall = (value, value.replace(tzinfo=UTC))
        return last[1]

    def _execution_row(self, event: RunStarted) -> dict[str, Any]:
        # A live run is stored under the id it saw. Fixture and replay runs see
        # a seeded id (the same every time), so their record gets a fresh one.
        self.execution_id = event.execution_id if self.world == "live" else str(uuid.uuid4())
        text = self.runbook.source.text
        rb = self.runbook
        self._metadata = self._first_metadata(event)
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
            "definition_hash": rb.definition_hash,
            "definition_path": rb.source.path,
            "lease": lease.current(),
            "heartbeat_at": datetime.now(UTC),
            "metadata": self._metadata,
            "run_attempt": self.run_attempt,
        }

    def _first_metadata(self, event: RunStarted) -> dict[str, Any]:
        """What the first start of an execution records about it."""
        rb = self.runbook
        return {
            "name": rb.name,
            "owner": rb.owner,
            "legal_basis": rb.legal_basis,
            "params": dict(event.params),
            "execution_id_seen": event.execution_id,
            "facts": self.facts,
            **({"environment": self.environment} if self.environment else {}),
            # Absent: the actor is a claim (a command line's); a queued run carries it.
            **({"actor_verified": True} if self.actor_verified else {}),
        }

    # After the run. -----------------------------------------------------------
    @property
    def error(self) -> str | None:
        """Why recording failed (None while it has not)."""
        return self._writer.error

    def close(self) -> None:
        """Wait until everything queued is committed and delivered (once is enough)."""
        self._writer.close()

    def abandon(self, status: str, error: str) -> bool:
        """The run ended without RunFinished (recording failed, a crash, Ctrl-C):
        wait for what was sent, then give its record a final `status`.

        Best effort, never raising: False when the store could not be told (a
        run left `running` is marked `interrupted` once its process is gone).
        """
        if self.execution_id is None or not self._writer.started:
            return False
        with contextlib.suppress(Exception):  # already being reported
            self._writer.close()
        insert = self._writer.inserts[INSERT_EXECUTION]
        statement, params = insert.update(self._final(status, error, None), "id", self.execution_id)
        try:
            with self.store.write() as conn:
                conn.execute(statement, params)
        except StoreError:
            return False
        return True

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
