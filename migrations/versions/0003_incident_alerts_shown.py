"""incident alerts shown, alert group queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alerts_shown", sa.String(length=64), nullable=True))
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue", sa.String(length=128), nullable=True))
    op.execute(
        "UPDATE alert_groups SET queue = substr(group_key, 7) WHERE group_key LIKE 'queue:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_column("queue")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("alerts_shown")
