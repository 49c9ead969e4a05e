"""Writing a run to the store while it happens.

The recorder is the first listener on the event bus: a finished step is
committed — with the exchanges it made — before any other listener hears of
it, so whatever the console has shown as done survives a killed process. A
heartbeat thread keeps the execution's lease fresh while it runs.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from rb.engine.events import (
    AssumptionChecked,
    Event,
    KpiChecked,
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
from rb.store.database import Store
from rb.store.tables import exchanges, executions, step_logs


class Recorder:
    """Records one run. Subscribe it first; give it to a RecordingWorld as sink."""

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
    ) -> None:
        self.store = store
        self.runbook = runbook
        self.actor = actor
        self.world = world
        self.now = now
        self.facts = dict(facts)
        self.replay_of = replay_of
        self.execution_id: str | None = None
        self._seq = 0
        self._step_seq = 0
        self._pending: list[dict[str, Any]] = []
        self._attempt: dict[str, int] = {}
        self._started: dict[str, datetime] = {}
        self._assumptions: list[dict[str, Any]] = []
        self._kpis: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # ExchangeSink ------------------------------------------------------------
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
        self._pending.append(
            {
                "seq": self._seq,
                "step_id": step_id,
                "attempt": self._attempt.get(step_id, 1),
                "kind": kind,
                "request": dict(request),
                "response": None if response is None else dict(response),
                "error": None if error is None else dict(error),
                "latency_seconds": latency,
            }
        )

    # Listener ----------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._begin(event)
        elif isinstance(event, StepStarted):
            self._attempt[event.step_id] = event.attempt
            self._started.setdefault(event.step_id, self._wall())
        elif isinstance(event, StepSucceeded | StepFailed | StepSkipped):
            self._finish_step(event)
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
            self._end(event)

    def _wall(self) -> datetime:
        value = self.now()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def _begin(self, event: RunStarted) -> None:
        # A live run is stored under the id it saw. Fixture and replay runs see
        # a seeded id (the same every time), so their record gets a fresh one.
        self.execution_id = event.execution_id if self.world == "live" else str(uuid.uuid4())
        text = self.runbook.source.text
        rb = self.runbook
        with self.store.begin() as conn:
            conn.execute(
                executions.insert().values(
                    id=self.execution_id,
                    runbook_id=rb.id,
                    runbook_version=rb.version,
                    started_at=datetime.fromisoformat(event.started_at),
                    recorded_at=datetime.now(UTC),
                    status="running",
                    actor_id=self.actor,
                    world=self.world,
                    replay_of=self.replay_of,
                    definition=text,
                    definition_hash=hashlib.sha256(text.encode()).hexdigest(),
                    definition_path=rb.source.path,
                    lease=lease.current(),
                    heartbeat_at=datetime.now(UTC),
                    metadata={
                        "name": rb.name,
                        "owner": rb.owner,
                        "legal_basis": rb.legal_basis,
                        "params": dict(event.params),
                        "execution_id_seen": event.execution_id,
                        "facts": self.facts,
                    },
                )
            )
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"rb-heartbeat-{event.execution_id}", daemon=True
        )
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(lease.HEARTBEAT_SECONDS):
            try:
                with self.store.begin() as conn:
                    conn.execute(
                        executions.update()
                        .where(executions.c.id == self.execution_id)
                        .values(heartbeat_at=datetime.now(UTC))
                    )
            except Exception:  # the next beat or the run's own writes will tell
                continue

    def _take(self, step_id: str | None) -> list[dict[str, Any]]:
        """Pending exchanges of one step (and run-level observations), or all."""
        keep: list[dict[str, Any]] = []
        take: list[dict[str, Any]] = []
        for row in self._pending:
            (take if step_id is None or row["step_id"] in (step_id, "") else keep).append(row)
        self._pending = keep
        return [{**row, "execution_id": self.execution_id} for row in take]

    def _finish_step(self, event: StepSucceeded | StepFailed | StepSkipped) -> None:
        self._step_seq += 1
        row: dict[str, Any] = {
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
            "errors": {"message": event.error}
            if isinstance(event, StepFailed)
            else ({"reason": event.reason} if isinstance(event, StepSkipped) else None),
        }
        pending = self._take(event.step_id)
        with self.store.begin() as conn:
            conn.execute(step_logs.insert(), [row])
            if pending:
                conn.execute(exchanges.insert(), pending)

    def _end(self, event: RunFinished) -> None:
        pending = self._take(None)
        with self.store.begin() as conn:
            if pending:
                conn.execute(exchanges.insert(), pending)
            conn.execute(
                executions.update()
                .where(executions.c.id == self.execution_id)
                .values(
                    status=event.status,
                    completed_at=self._wall(),
                    duration_seconds=event.duration_seconds,
                    heartbeat_at=datetime.now(UTC),
                )
            )

    def finish(self, result: ExecutionResult) -> None:
        """After the run: what it read and found, into the execution's metadata."""
        self._stop.set()
        if self.execution_id is None:
            return
        with self.store.begin() as conn:
            current = conn.execute(
                executions.select().where(executions.c.id == self.execution_id)
            ).one()
            metadata = dict(current._mapping["metadata"])
            metadata.update(
                assumptions=self._assumptions,
                kpis=self._kpis,
                error=result.error,
                env=result.env_read,
                secrets=list(result.secrets_read),  # names only
            )
            conn.execute(
                executions.update()
                .where(executions.c.id == self.execution_id)
                .values(metadata=metadata)
            )

    def close(self) -> None:
        self._stop.set()
