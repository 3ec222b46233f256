"""Incident rows and their timeline: the queries the services share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.timeline import EventKind, TimelineEntry
from bot.db.engine import dialect_insert
from bot.db.models import Incident, RoleAssignment, TimelineEvent


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


async def open_incident_for_key(
    session: AsyncSession,
    *,
    key: str,
    title: str,
    severity: str,
    now: datetime,
    during_maintenance: bool = False,
    drill: bool = False,
) -> tuple[Incident, bool]:
    """The open incident for `key`, created if there is none: `(incident, created)`.

    Insert-on-conflict, then re-read: when replicas race for the same key, the unique
    constraint on `open_group_key` lets exactly one insert win and the others read its row.
    """
    insert = dialect_insert(session.get_bind().dialect.name)
    statement = (
        insert(Incident)
        .values(
            title=title[:200],
            severity=severity,
            state="triggered",
            open_group_key=key,
            group_key=key,
            is_drill=drill,
            during_maintenance=during_maintenance,
            created_at=now,
            updated_at=now,
            last_alert_at=now,
            version=1,
            room_state="none",
        )
        .on_conflict_do_nothing(index_elements=["open_group_key"])
        .returning(Incident.id)
    )
    created_id = (await session.execute(statement)).scalar()
    found = await session.execute(
        select(Incident)
        .where(Incident.open_group_key == key)
        .execution_options(populate_existing=True)
    )
    incident = found.scalar_one()
    return incident, created_id is not None


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


async def latest_status_updates(session: AsyncSession, incident_id: int, count: int) -> list[str]:
    """The incident's last `count` status updates, newest first."""
    found = await session.scalars(
        select(TimelineEvent.text)
        .where(
            TimelineEvent.incident_id == incident_id,
            TimelineEvent.kind == EventKind.STATUS_UPDATE,
        )
        .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        .limit(count)
    )
    return list(found.all())


async def roles_of(session: AsyncSession, incident_id: int) -> dict[str, str]:
    """Who holds which role in the incident (role -> Slack user id)."""
    found = await session.execute(
        select(RoleAssignment.role, RoleAssignment.user_id).where(
            RoleAssignment.incident_id == incident_id
        )
    )
    return {str(role): str(user) for role, user in found.all()}
