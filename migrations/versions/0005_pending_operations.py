"""pending operations (confirmed commands) and their audit columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pending_operations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("command", sa.String(length=48), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("requester", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=True),
        sa.Column("needs_second", sa.Boolean(), nullable=False),
        sa.Column("approver", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_pending_operations_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_operations")),
        sa.UniqueConstraint("token", name=op.f("uq_pending_operations_token")),
    )
    with op.batch_alter_table("pending_operations", schema=None) as batch_op:
        batch_op.create_index("ix_pending_operations_due", ["state", "expires_at"], unique=False)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("operation_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_log_operation_id_pending_operations"),
            "pending_operations",
            ["operation_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_audit_log_operation_id_pending_operations"), type_="foreignkey"
        )
        batch_op.drop_column("operation_id")
        batch_op.drop_column("channel_id")

    with op.batch_alter_table("pending_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_operations_due")

    op.drop_table("pending_operations")
