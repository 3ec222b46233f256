"""incident lifecycle: who moved it, resolution, last update, group key, clock message

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("acknowledged_by", sa.String(length=32)),
    ("mitigated_by", sa.String(length=32)),
    ("resolved_by", sa.String(length=32)),
    ("resolution", sa.Text()),
    ("last_update_at", sa.DateTime(timezone=True)),
    ("group_key", sa.String(length=255)),
    ("clock_ts", sa.String(length=32)),
)


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.execute("UPDATE incidents SET group_key = open_group_key")


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
