"""Drill runs started from Slack: who plays each one (a lease), how far it got, and the
claim that lets another replica play on when the one playing it stops."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DrillRun

LEASE = timedelta(seconds=30)


async def create_run(
    session: AsyncSession,
    *,
    mark: str,
    scenario: str,
    invitees: tuple[str, ...],
    started_at: datetime,
    worker: str,
) -> DrillRun:
    run = DrillRun(
        mark=mark,
        scenario=scenario,
        invitees=list(invitees),
        started_at=started_at,
        steps_done=0,
        state="playing",
        claimed_by=worker,
        claimed_until=started_at + LEASE,
    )
    session.add(run)
    await session.flush()
    return run


async def record_progress(
    session: AsyncSession,
    run_id: int,
    worker: str,
    now: datetime,
    *,
    steps_done: int,
    incident_id: int | None,
) -> bool:
    """Keep the lease and note the progress; False when the run is no longer this worker's
    (it stopped too long, and another replica plays it now)."""
    result = await session.execute(
        update(DrillRun)
        .where(DrillRun.id == run_id, DrillRun.claimed_by == worker, DrillRun.state == "playing")
        .values(steps_done=steps_done, incident_id=incident_id, claimed_until=now + LEASE)
    )
    return bool(getattr(result, "rowcount", 0))


async def end_run(session: AsyncSession, run_id: int) -> None:
    await session.execute(
        update(DrillRun)
        .where(DrillRun.id == run_id)
        .values(state="over", claimed_by=None, claimed_until=None)
    )


async def hand_on(session: AsyncSession, run_ids: list[int], worker: str, now: datetime) -> None:
    """This worker is stopping: its runs may be claimed at once."""
    await session.execute(
        update(DrillRun)
        .where(DrillRun.id.in_(run_ids), DrillRun.claimed_by == worker)
        .values(claimed_until=now)
    )


def _orphaned(now: datetime) -> ColumnElement[bool]:
    return and_(
        DrillRun.state == "playing",
        or_(DrillRun.claimed_until.is_(None), DrillRun.claimed_until <= now),
    )


async def orphans_exist(session: AsyncSession, now: datetime) -> bool:
    return (await session.scalar(select(DrillRun.id).where(_orphaned(now)).limit(1))) is not None


async def claim_orphans(session: AsyncSession, worker: str, now: datetime) -> list[DrillRun]:
    """Runs whose player stopped (the lease ran out), now this worker's."""
    runs = list(
        (
            await session.scalars(
                select(DrillRun)
                .where(_orphaned(now))
                .order_by(DrillRun.id)
                .limit(5)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    for run in runs:
        run.claimed_by, run.claimed_until = worker, now + LEASE
    await session.flush()
    return runs
