"""SQLAlchemy tables: the seed's two tables plus what replay needs.

JSON columns are JSONB on PostgreSQL and JSON (text) on SQLite. Secrets are
never stored: values are masked before they reach a row, and an execution
keeps only the names of the secrets it read.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
    UniqueConstraint,
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
    # How many times the execution has been started: a resume or retry adds one.
    Column("run_attempt", Integer, nullable=False, default=1, server_default="1"),
    # What a `waiting` run waits for: [{kind: approval|event|pause, step_id, ...}]
    Column("waiting_for", Json),
    Column("idempotency_key", Text),
    Column("concurrency_key", Text),
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
    Column(
        "run_attempt", Integer, nullable=False, default=1, server_default="1"
    ),  # the start that logged it
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
    Column("run_attempt", Integer, nullable=False, default=1, server_default="1"),
    Index("ix_runbook_exchanges_execution", "execution_id", "seq"),
)

# Durable executions (migration 0002). Written by other processes than the
# one running the execution: `rb cancel`, `rb approve`, `rb event send`, the API.

# cancel | pause | resume, asked of an execution; handled_at when it was acted on.
control = Table(
    "runbook_control",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _execution_id(),
    Column("action", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("handled_at", DateTime(timezone=True)),
    Index("ix_runbook_control_pending", "execution_id", "handled_at"),
)

# One decision per person per approval step: N-of-M counts distinct actors.
approvals = Table(
    "runbook_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _execution_id(),
    Column("step_id", Text, nullable=False),
    Column("decision", Text, nullable=False),  # approve | reject
    Column("actor_id", Text, nullable=False),
    Column("comment", Text),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("execution_id", "step_id", "actor_id", name="uq_runbook_approvals_actor"),
)

# Events sent to rb; kept until expires_at for a wait_event step that has not
# started waiting yet, and consumed by exactly one step.
events = Table(
    "runbook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("payload", Json),
    Column("actor_id", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("consumed_by", String(36), ForeignKey("runbook_executions.id", ondelete="SET NULL")),
    Column("consumed_step", Text),
    Column("consumed_at", DateTime(timezone=True)),
    Index("ix_runbook_events_name_key", "name", "key", "received_at"),
)

# A trigger's idempotency key: the first execution it started, until expires_at.
idempotency = Table(
    "runbook_idempotency",
    metadata,
    Column("key", Text, primary_key=True),
    Column("runbook_id", Text, nullable=False),
    Column("params_hash", String(64), nullable=False),
    Column("execution_id", String(36), ForeignKey("runbook_executions.id", ondelete="CASCADE")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Concurrency keys: `limit` slots per key; holding slot i is one row, so the
# primary key makes taking a slot exact under any number of concurrent runs.
concurrency = Table(
    "runbook_concurrency",
    metadata,
    Column("key", Text, primary_key=True),
    Column("slot", Integer, primary_key=True),
    _execution_id(),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
)

# An `rb worker` process, keyed by its procrastinate worker id (whose
# heartbeat, in procrastinate_workers, says whether it is alive).
workers = Table(
    "runbook_workers",
    metadata,
    Column("worker_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("queues", Json),
    Column("concurrency", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

# Who may do what (migration 0004, docs/security.md).

# An API token: its secret is shown once and kept only as a SHA-256 hash.
tokens = Table(
    "runbook_tokens",
    metadata,
    Column("id", String(16), primary_key=True),  # the token's public part
    Column("name", Text, nullable=False),  # the identity actions are recorded under
    Column("role", Text, nullable=False),  # viewer | operator | approver | admin
    Column("groups", Json),  # names a runbook's `access:` may list
    Column("secret_hash", String(64), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", Text),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Index("ix_runbook_tokens_name", "name"),
)

# A published version of a runbook: draft -> approved -> deprecated.
definitions = Table(
    "runbook_definitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("runbook_id", Text, nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per runbook
    Column("content_hash", String(64), nullable=False),  # SHA-256 of the file's bytes
    Column("content", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),  # draft | approved | deprecated
    Column("approved_by", Text),
    Column("approved_at", DateTime(timezone=True)),
    Column("deprecated_by", Text),
    Column("deprecated_at", DateTime(timezone=True)),
    UniqueConstraint("runbook_id", "version", name="uq_runbook_definitions_version"),
    Index("ix_runbook_definitions_hash", "runbook_id", "content_hash"),
)

# The audit trail: append-only, each record holding the hash of the one before.
audit = Table(
    "runbook_audit",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("verified", Boolean, nullable=False),  # from a token, not a claim
    Column("action", Text, nullable=False),  # trigger | approve | cancel | publish ...
    Column("subject", Text, nullable=False),  # an execution id, runbook@version, token name
    Column("origin", Text, nullable=False),  # where from: an address, or cli@host
    Column("legal_basis", Text),
    Column("evidence", Json),  # links: the execution, its outputs, screenshots
    Column("details", Json),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# A notification a run sent (or, under a fixture, would have sent).
notifications = Table(
    "runbook_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _execution_id(),
    Column("event", Text, nullable=False),  # failure | success | approval_needed | waiting_too_long
    Column("step_id", Text),  # the waiting step (approval_needed, waiting_too_long): sent once each
    Column("channel", Text, nullable=False),  # the target as written, secrets masked
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False),  # sent | failed | recorded
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_runbook_notifications_execution", "execution_id"),
)
