"""Workers: who runs executions off the procrastinate queue (docs/scaling.md).

procrastinate keeps only a worker's id and heartbeat; rb adds what an
operator asks of a worker: its name, host, process, queues and concurrency.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runbook_workers",
        sa.Column("worker_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("queues", Json),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("started_at", When, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("runbook_workers")
