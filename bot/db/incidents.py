"""Incident rows and their timeline: the queries the services share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.timeline import TimelineEntry
from bot.db.models import Incident, TimelineEvent


async def create_incident(
    session: AsyncSession,
    *,
    title: str,
    severity: str,
    declared_by: str | None,
    now: datetime,
    drill: bool = False,
) -> Incident:
    incident = Incident(
        title=title,
        severity=severity,
        state="triggered",
        declared_by=declared_by,
        is_drill=drill,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    await session.flush()
    return incident


async def record(
    session: AsyncSession, incident_id: int, entry: TimelineEntry, now: datetime
) -> None:
    """Append one event to an incident's timeline (append-only: never updated)."""
    session.add(
        TimelineEvent(
            incident_id=incident_id,
            occurred_at=entry.occurred_at,
            recorded_at=now,
            kind=entry.kind.value,
            actor=entry.actor,
            source=entry.source,
            text=entry.text,
            data=entry.data,
        )
    )


async def get_incident(session: AsyncSession, incident_id: int) -> Incident | None:
    return await session.get(Incident, incident_id)


async def incident_for_channel(session: AsyncSession, channel_id: str) -> Incident | None:
    result = await session.execute(select(Incident).where(Incident.channel_id == channel_id))
    return result.scalars().first()


async def timeline(session: AsyncSession, incident_id: int) -> list[TimelineEvent]:
    result = await session.execute(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    )
    return list(result.scalars())
