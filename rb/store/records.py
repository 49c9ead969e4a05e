"""A recorded execution as typed, frozen records, and its one JSON document.

The store hands runs out as these records (never as row dicts), and every
front end shows a run through `Execution.to_json()`: `rb runs show --format
json`, the REST API and GraphQL give the same document (docs/store.md).
`from_json` reads the document back into an equal record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from rb.engine.outcome import breached_kpis


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A stored time with its zone (SQLite hands back naive UTC times)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def utc_iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (None stays None)."""
    value = aware(value)
    return None if value is None else value.astimezone(UTC).isoformat()


def iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 with its offset (None stays None)."""
    value = aware(value)
    return None if value is None else value.isoformat()


def _time(text: Any) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


@dataclass(frozen=True)
class StepLog:
    """How one step ended, in the order steps finished (`seq`)."""

    step_id: str
    seq: int
    status: str  # succeeded | failed | skipped
    attempts: int
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    summary: str | None = None
    error: str | None = None  # why it failed
    skip_reason: str | None = None  # why it was skipped
    inputs: Any = None
    outputs: Any = None
    run_attempt: int = 1  # which start of the execution logged it

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StepLog:
        """From a `runbook_step_logs` row."""
        errors = row["errors"] or {}
        return cls(
            step_id=row["step_id"],
            seq=row["seq"],
            status=row["status"],
            attempts=row["attempts"],
            started_at=aware(row["started_at"]),
            completed_at=aware(row["completed_at"]),
            duration_seconds=row["duration_seconds"],
            summary=row["summary"],
            error=errors.get("message"),
            skip_reason=errors.get("reason"),
            inputs=row["inputs"],
            outputs=row["outputs"],
            run_attempt=row.get("run_attempt") or 1,
        )

    def to_json(self) -> dict[str, Any]:
        """The step log in an execution's document."""
        return {
            "step_id": self.step_id,
            "seq": self.seq,
            "status": self.status,
            "attempts": self.attempts,
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "duration_seconds": self.duration_seconds,
            "summary": self.summary,
            "error": self.error,
            "skip_reason": self.skip_reason,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "run_attempt": self.run_attempt,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepLog:
        """The inverse of `to_json`."""
        return cls(
            **{
                **data,
                "started_at": _time(data["started_at"]),
                "completed_at": _time(data["completed_at"]),
            }
        )


@dataclass(frozen=True)
class Exchange:
    """One request to the outside and its answer (or error), in run order."""

    seq: int
    step_id: str
    attempt: int
    kind: str  # http | sql | shell | screenshot | stub | observe
    request: Any
    response: Any = None  # None when the exchange failed (see error)
    error: Any = None  # {kind, message}
    latency_seconds: float | None = None
    run_attempt: int = 1  # which start of the execution sent it

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Exchange:
        """From a `runbook_exchanges` row."""
        return cls(**{k: row[k] for k in _EXCHANGE_FIELDS}, run_attempt=_attempt_of(row))

    def to_json(self) -> dict[str, Any]:
        """The exchange in an execution's document, with the start that sent it."""
        return {**{k: getattr(self, k) for k in _EXCHANGE_FIELDS}, "run_attempt": self.run_attempt}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Exchange:
        """The inverse of `to_json`."""
        return cls(**{k: data[k] for k in _EXCHANGE_FIELDS}, run_attempt=_attempt_of(data))


def _attempt_of(data: Mapping[str, Any]) -> int:
    return int(data.get("run_attempt") or 1)


_EXCHANGE_FIELDS = (
    "seq",
    "step_id",
    "attempt",
    "kind",
    "request",
    "response",
    "error",
    "latency_seconds",
)


@dataclass(frozen=True)
class Execution:
    """One recorded run: the run itself, its step logs and (when read) its exchanges.

    `exchanges` is None when they were not read (a list of runs, the REST
    API): a run that fetched large documents has much to read.
    """

    id: str
    runbook_id: str
    runbook_version: str
    # queued | running | waiting | success | failure | aborted | cancelled | interrupted | timed_out
    status: str
    world: str  # live | fixture | replay
    actor: str
    started_at: datetime  # as the run saw it (virtual under a fixture)
    recorded_at: datetime  # real time the record was made
    definition_path: str
    definition_hash: str
    definition: str  # the runbook's text when the run started
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    replay_of: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[StepLog, ...] = ()  # each step's latest log (its highest run_attempt)
    exchanges: tuple[Exchange, ...] | None = None
    run_attempt: int = 1  # how many times the execution was started (resume, retry)
    # What a `waiting` run waits for: [{kind: approval|event|pause, step_id, ...}]
    waiting_for: tuple[Mapping[str, Any], ...] = ()
    # The trigger's idempotency key and the run's concurrency key (docs/triggers.md).
    idempotency_key: str | None = None
    concurrency_key: str | None = None

    @classmethod
    def from_rows(
        cls,
        row: Mapping[str, Any],
        steps: tuple[Mapping[str, Any], ...] = (),
        exchanges: tuple[Mapping[str, Any], ...] | None = None,
    ) -> Execution:
        """From a `runbook_executions` row and its step and exchange rows."""
        return cls(
            id=str(row["id"]),
            runbook_id=row["runbook_id"],
            runbook_version=row["runbook_version"],
            status=row["status"],
            world=row["world"],
            actor=row["actor_id"],
            started_at=aware(row["started_at"]),
            recorded_at=aware(row["recorded_at"]),
            definition_path=row["definition_path"],
            definition_hash=row["definition_hash"],
            definition=row["definition"],
            completed_at=aware(row["completed_at"]),
            duration_seconds=row["duration_seconds"],
            replay_of=row["replay_of"],
            metadata=row["metadata"] or {},
            steps=tuple(StepLog.from_row(s) for s in steps),
            exchanges=None if exchanges is None else tuple(Exchange.from_row(e) for e in exchanges),
            run_attempt=row.get("run_attempt") or 1,
            waiting_for=tuple(row.get("waiting_for") or ()),
            idempotency_key=row.get("idempotency_key"),
            concurrency_key=row.get("concurrency_key"),
        )

    @property
    def kpis_breached(self) -> list[str]:
        """The KPIs the run measured and missed (a success can miss one)."""
        return breached_kpis(self.metadata.get("kpis"))

    @property
    def error(self) -> str | None:
        """Why the run failed or stopped, if it says."""
        return self.metadata.get("error") or None

    @property
    def kind(self) -> str:
        """`test` (against a fixture), `live`, or `replay of ID`."""
        if self.world == "replay":
            return f"replay of {(self.replay_of or '?')[:8]}"
        return "test" if self.world == "fixture" else self.world

    def summary_json(self) -> dict[str, Any]:
        """The run without its definition, metadata, steps and exchanges (`rb runs list`)."""
        return {
            "id": self.id,
            "runbook_id": self.runbook_id,
            "runbook_version": self.runbook_version,
            "status": self.status,
            # A procedure that succeeded but missed a KPI: both facts, side by side.
            "kpis_breached": self.kpis_breached,
            "kind": self.kind,
            "world": self.world,
            "actor": self.actor,
            "replay_of": self.replay_of,
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "recorded_at": iso(self.recorded_at),
            "duration_seconds": self.duration_seconds,
            "run_attempt": self.run_attempt,
            "waiting_for": [dict(w) for w in self.waiting_for],
        }

    @property
    def attempts(self) -> list[dict[str, Any]]:
        """Each start of the execution: {run_attempt, actor, started_at, reason, status}."""
        return list(self.metadata.get("attempts") or [])

    def to_json(self) -> dict[str, Any]:
        """The execution's one document (JSON-ready); `from_json` reads it back."""
        meta = self.metadata
        data = {
            **self.summary_json(),
            # The fields clients read most, lifted out of the metadata.
            "error": self.error,
            "legal_basis": meta.get("legal_basis") or None,
            "params": meta.get("params", {}),
            "facts": meta.get("facts", {}),
            "assumptions": meta.get("assumptions", []),
            "kpis": meta.get("kpis", []),
            "definition_path": self.definition_path,
            "definition_hash": self.definition_hash,
            "definition": self.definition,
            "metadata": dict(meta),
            "step_logs": [s.to_json() for s in self.steps],
        }
        for name in ("idempotency_key", "concurrency_key"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if "replay" in meta:
            data["replay"] = meta["replay"]
        if self.exchanges is not None:
            data["exchanges"] = [e.to_json() for e in self.exchanges]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Execution:
        """The record a document from `to_json` was made from."""
        exchanges = data.get("exchanges")
        return cls(
            id=data["id"],
            runbook_id=data["runbook_id"],
            runbook_version=data["runbook_version"],
            status=data["status"],
            world=data["world"],
            actor=data["actor"],
            started_at=datetime.fromisoformat(data["started_at"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            definition_path=data["definition_path"],
            definition_hash=data["definition_hash"],
            definition=data["definition"],
            completed_at=_time(data["completed_at"]),
            duration_seconds=data["duration_seconds"],
            replay_of=data["replay_of"],
            metadata=data["metadata"],
            steps=tuple(StepLog.from_json(s) for s in data["step_logs"]),
            exchanges=None
            if exchanges is None
            else tuple(Exchange.from_json(e) for e in exchanges),
            run_attempt=data.get("run_attempt", 1),
            waiting_for=tuple(data.get("waiting_for") or ()),
            idempotency_key=data.get("idempotency_key"),
            concurrency_key=data.get("concurrency_key"),
        )
