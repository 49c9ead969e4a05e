"""Durable executions: run attempts, what a run waits for, control requests,
approvals, events, idempotency keys and concurrency slots.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# History: spelled out as at this revision (see 0001).
Json = sa.JSON().with_variant(JSONB(), "postgresql")
When = sa.DateTime(timezone=True)
Id = sa.String(36)


def _owner() -> sa.ForeignKey:
    return sa.ForeignKey("runbook_executions.id", ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("runbook_executions") as t:
        t.add_column(sa.Column("run_attempt", sa.Integer, nullable=False, server_default="1"))
        t.add_column(sa.Column("waiting_for", Json))
        t.add_column(sa.Column("idempotency_key", sa.Text))
        t.add_column(sa.Column("concurrency_key", sa.Text))
    with op.batch_alter_table("runbook_step_logs") as t:
        t.add_column(sa.Column("run_attempt", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("runbook_exchanges") as t:
        t.add_column(sa.Column("run_attempt", sa.Integer, nullable=False, server_default="1"))

    op.create_table(
        "runbook_control",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", Id, _owner(), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("requested_at", When, nullable=False),
        sa.Column("handled_at", When),
    )
    op.create_index("ix_runbook_control_pending", "runbook_control", ["execution_id", "handled_at"])
    op.create_table(
        "runbook_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", Id, _owner(), nullable=False),
        sa.Column("step_id", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("decided_at", When, nullable=False),
        sa.UniqueConstraint(
            "execution_id", "step_id", "actor_id", name="uq_runbook_approvals_actor"
        ),
    )
    op.create_table(
        "runbook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("payload", Json),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("consumed_by", Id, sa.ForeignKey("runbook_executions.id", ondelete="SET NULL")),
        sa.Column("consumed_step", sa.Text),
        sa.Column("consumed_at", When),
    )
    op.create_index("ix_runbook_events_name_key", "runbook_events", ["name", "key", "received_at"])
    op.create_table(
        "runbook_idempotency",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("runbook_id", sa.Text, nullable=False),
        sa.Column("params_hash", sa.String(64), nullable=False),
        sa.Column("execution_id", Id, sa.ForeignKey("runbook_executions.id", ondelete="CASCADE")),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
    )
    op.create_table(
        "runbook_concurrency",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("execution_id", Id, _owner(), nullable=False),
        sa.Column("acquired_at", When, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("runbook_concurrency")
    op.drop_table("runbook_idempotency")
    op.drop_index("ix_runbook_events_name_key", "runbook_events")
    op.drop_table("runbook_events")
    op.drop_table("runbook_approvals")
    op.drop_index("ix_runbook_control_pending", "runbook_control")
    op.drop_table("runbook_control")
    for table in ("runbook_exchanges", "runbook_step_logs"):
        with op.batch_alter_table(table) as t:
            t.drop_column("run_attempt")
    with op.batch_alter_table("runbook_executions") as t:
        for column in ("concurrency_key", "idempotency_key", "waiting_for", "run_attempt"):
            t.drop_column(column)
