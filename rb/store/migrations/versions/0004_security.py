"""Who may do what: API tokens, published definitions, the audit trail and
notifications (docs/security.md).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runbook_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("groups", Json),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("revoked_by", sa.Text),
        sa.Column("revoked_at", When),
        sa.Column("last_used_at", When),
    )
    op.create_index("ix_runbook_tokens_name", "runbook_tokens", ["name"])
    op.create_table(
        "runbook_definitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("runbook_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("published_at", When, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("approved_by", sa.Text),
        sa.Column("approved_at", When),
        sa.Column("deprecated_by", sa.Text),
        sa.Column("deprecated_at", When),
        sa.UniqueConstraint("runbook_id", "version", name="uq_runbook_definitions_version"),
    )
    op.create_index(
        "ix_runbook_definitions_hash", "runbook_definitions", ["runbook_id", "content_hash"]
    )
    op.create_table(
        "runbook_audit",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("at", When, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text),
        sa.Column("evidence", Json),
        sa.Column("details", Json),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "runbook_notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "execution_id",
            sa.String(36),
            sa.ForeignKey("runbook_executions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("step_id", sa.Text),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("at", When, nullable=False),
    )
    op.create_index("ix_runbook_notifications_execution", "runbook_notifications", ["execution_id"])


def downgrade() -> None:
    op.drop_table("runbook_notifications")
    op.drop_table("runbook_audit")
    op.drop_table("runbook_definitions")
    op.drop_table("runbook_tokens")
