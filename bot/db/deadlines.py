"""Escalation deadlines: one row per clock step due at a time. A tick claims the due ones
with `FOR UPDATE SKIP LOCKED`, so several replicas fire each exactly once; planning numbers
new rows after the incident's earlier ones, cancelling stops the unfired ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import EscalationPolicy
from bot.core.escalation import Step, first_deadlines
from bot.db.models import EscalationDeadline, Incident


async def next_sequence(session: AsyncSession, incident_id: int) -> int:
    """Deadlines planned now are numbered after every earlier one of the incident."""
    taken = await session.scalar(
        select(func.max(EscalationDeadline.sequence)).where(
            EscalationDeadline.incident_id == incident_id
        )
    )
    return 0 if taken is None else taken + 1


def plan_deadline(
    session: AsyncSession, incident_id: int, step: Step, sequence: int, due_at: datetime
) -> None:
    """One step due at `due_at` (added to the session; written at the next flush)."""
    session.add(
        EscalationDeadline(
            incident_id=incident_id, step=step.value, sequence=sequence, due_at=due_at
        )
    )


async def plan_step(session: AsyncSession, incident_id: int, step: Step, due_at: datetime) -> None:
    """One step due at `due_at`, numbered after the incident's earlier deadlines."""
    plan_deadline(session, incident_id, step, await next_sequence(session, incident_id), due_at)


async def plan_clock(
    session: AsyncSession, incident: Incident, policy: EscalationPolicy | None, start: datetime
) -> None:
    """Add the incident's deadlines from `start` (its opening, or a reopen: numbered after
    the old ones)."""
    if policy is None:
        return
    await session.flush()  # the incident's id
    sequence = await next_sequence(session, incident.id)
    for step, due_at in first_deadlines(policy, start).items():
        plan_deadline(session, incident.id, step, sequence, due_at)


async def cancel_clock(session: AsyncSession, incident_id: int, now: datetime) -> None:
    """Every step of the incident not fired yet is cancelled as of `now`."""
    await session.execute(
        update(EscalationDeadline)
        .where(
            EscalationDeadline.incident_id == incident_id,
            EscalationDeadline.fired_at.is_(None),
            EscalationDeadline.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )


async def claim_due_deadlines(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[EscalationDeadline]:
    """Up to `limit` steps due by `now`, neither fired nor cancelled, oldest due first, locked
    for this transaction; rows another replica holds are skipped (`FOR UPDATE SKIP LOCKED`)."""
    result = await session.execute(
        select(EscalationDeadline)
        .where(
            EscalationDeadline.fired_at.is_(None),
            EscalationDeadline.cancelled_at.is_(None),
            EscalationDeadline.due_at <= now,
        )
        .order_by(EscalationDeadline.due_at, EscalationDeadline.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.scalars().all()
