"""The first schema: executions, step logs and exchanges.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A migration is history: it spells the schema out as it was at this revision
# instead of importing rb.store.tables, which later revisions change.
Json = sa.JSON().with_variant(JSONB(), "postgresql")
When = sa.DateTime(timezone=True)
Id = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "runbook_executions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("runbook_id", sa.Text, nullable=False),
        sa.Column("runbook_version", sa.Text, nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("completed_at", When),
        sa.Column("recorded_at", When, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("world", sa.Text, nullable=False),
        sa.Column("replay_of", Id, sa.ForeignKey("runbook_executions.id")),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("definition_path", sa.Text, nullable=False),
        sa.Column("lease", sa.Text),
        sa.Column("heartbeat_at", When),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("metadata", Json, nullable=False),
    )
    op.create_index(
        "ix_runbook_executions_runbook_recorded",
        "runbook_executions",
        ["runbook_id", "recorded_at"],
    )
    op.create_index("ix_runbook_executions_recorded", "runbook_executions", ["recorded_at"])
    op.create_index("ix_runbook_executions_status", "runbook_executions", ["status"])
    owner = sa.ForeignKey("runbook_executions.id", ondelete="CASCADE")
    op.create_table(
        "runbook_step_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", Id, owner, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("started_at", When),
        sa.Column("completed_at", When),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("summary", sa.Text),
        sa.Column("inputs", Json),
        sa.Column("outputs", Json),
        sa.Column("errors", Json),
    )
    op.create_index("ix_runbook_step_logs_execution", "runbook_step_logs", ["execution_id", "seq"])
    op.create_table(
        "runbook_exchanges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "execution_id",
            Id,
            sa.ForeignKey("runbook_executions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("request", Json, nullable=False),
        sa.Column("response", Json),
        sa.Column("error", Json),
        sa.Column("latency_seconds", sa.Float),
    )
    op.create_index("ix_runbook_exchanges_execution", "runbook_exchanges", ["execution_id", "seq"])


def downgrade() -> None:
    op.drop_table("runbook_exchanges")
    op.drop_table("runbook_step_logs")
    op.drop_table("runbook_executions")
