"""SQLAlchemy tables: the seed's two tables plus what replay needs.

JSON columns are JSONB on PostgreSQL and JSON (text) on SQLite. Secrets are
never stored: values are masked before they reach a row, and an execution
keeps only the names of the secrets it read.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _execution_id() -> Column[str]:
    """The column tying a row to its execution (deleted with it)."""
    return Column(
        "execution_id",
        String(36),
        ForeignKey("runbook_executions.id", ondelete="CASCADE"),
        nullable=False,
    )


Json = JSON().with_variant(JSONB(), "postgresql")

executions = Table(
    "runbook_executions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("runbook_id", Text, nullable=False),
    Column("runbook_version", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),  # as the run saw it
    Column("completed_at", DateTime(timezone=True)),
    # Real time the record was made: under a fixture, started_at is virtual.
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # running | success | failure | aborted | interrupted
    Column("status", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("world", Text, nullable=False),  # live | fixture | replay
    Column("replay_of", String(36), ForeignKey("runbook_executions.id")),
    Column("definition", Text, nullable=False),  # the runbook as it was when the run started
    Column("definition_hash", String(64), nullable=False),
    Column("definition_path", Text, nullable=False),
    Column("lease", Text),  # host|pid|process start: who is running it
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("duration_seconds", Float),
    # params, env read, secret names, facts, assumptions, legal basis, KPIs, error
    Column("metadata", Json, nullable=False),
    Index("ix_runbook_executions_runbook_recorded", "runbook_id", "recorded_at"),
    Index("ix_runbook_executions_recorded", "recorded_at"),
    Index("ix_runbook_executions_status", "status"),
)

step_logs = Table(
    "runbook_step_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _execution_id(),
    Column("step_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),  # order in which steps finished
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False),  # succeeded | failed | skipped
    Column("attempts", Integer, nullable=False),
    Column("duration_seconds", Float),
    Column("summary", Text),
    Column("inputs", Json),
    Column("outputs", Json),
    Column("errors", Json),
    Index("ix_runbook_step_logs_execution", "execution_id", "seq"),
)

exchanges = Table(
    "runbook_exchanges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _execution_id(),
    Column("seq", Integer, nullable=False),  # order within the execution
    Column("step_id", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("kind", Text, nullable=False),  # http | sql | shell | observe
    Column("request", Json, nullable=False),
    Column("response", Json),  # null when the exchange failed (see error)
    Column("error", Json),  # {kind, message}
    Column("latency_seconds", Float),
    Index("ix_runbook_exchanges_execution", "execution_id", "seq"),
)
