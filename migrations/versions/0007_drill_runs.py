"""drill runs: a drill started from Slack, handed on when its replica stops

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "drill_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("mark", sa.String(length=128), nullable=False),
        sa.Column("scenario", sa.String(length=64), nullable=False),
        sa.Column("invitees", sa.JSON(), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_drill_runs_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drill_runs")),
        sa.UniqueConstraint("mark", name=op.f("uq_drill_runs_mark")),
    )
    op.create_index("ix_drill_runs_state", "drill_runs", ["state", "claimed_until"])


def downgrade() -> None:
    op.drop_index("ix_drill_runs_state", table_name="drill_runs")
    op.drop_table("drill_runs")
