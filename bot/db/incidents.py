"""Incident rows and their timeline: the queries the services share."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.stats import IncidentTimes
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import OPEN_STATES
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


async def lock_incident(session: AsyncSession, incident_id: int) -> Incident | None:
    """The incident, its row locked for this transaction and read afresh (None if unknown)."""
    return await session.get(Incident, incident_id, with_for_update=True, populate_existing=True)


async def lock_incident_unless_busy(session: AsyncSession, incident_id: int) -> Incident | None:
    """The incident locked for this transaction and read afresh; None when another
    transaction holds it (an action in flight: ask again later) or when there is none."""
    result = await session.execute(
        select(Incident)
        .where(Incident.id == incident_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def incident_state(session: AsyncSession, incident_id: int) -> str | None:
    """The incident's state (`triggered` … `resolved`); None if there is no such incident."""
    return await session.scalar(select(Incident.state).where(Incident.id == incident_id))


async def channel_of(session: AsyncSession, incident_id: int) -> str | None:
    """The channel id of the incident's war room (None before it exists)."""
    return await session.scalar(select(Incident.channel_id).where(Incident.id == incident_id))


async def open_incidents_by_severity(session: AsyncSession) -> dict[str, int]:
    """How many incidents are open (not resolved), per severity."""
    result = await session.execute(
        select(Incident.severity, func.count())
        .where(Incident.state.in_(OPEN_STATES))
        .group_by(Incident.severity)
    )
    return {str(severity): int(n) for severity, n in result.all()}


async def claim_quiet_incidents(
    session: AsyncSession, quiet_since: datetime, limit: int
) -> Sequence[Incident]:
    """Up to `limit` open incidents with a war room, no alert since `quiet_since`, and no
    resolution suggested since their last alert; locked for this transaction, those another
    replica holds skipped (`FOR UPDATE SKIP LOCKED`)."""
    result = await session.execute(
        select(Incident)
        .where(
            Incident.state.in_(OPEN_STATES),
            Incident.room_state == "open",
            Incident.last_alert_at <= quiet_since,
            or_(
                Incident.resolve_suggested_at.is_(None),
                Incident.resolve_suggested_at < Incident.last_alert_at,
            ),
        )
        .order_by(Incident.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.scalars().all()


async def incident_times_since(session: AsyncSession, since: datetime) -> list[IncidentTimes]:
    """The times of every incident (drills aside) created since `since`: for `/incident stats`."""
    commander_at = (
        select(RoleAssignment.incident_id, func.min(RoleAssignment.assigned_at).label("at"))
        .where(RoleAssignment.role == "commander")
        .group_by(RoleAssignment.incident_id)
        .subquery()
    )
    breaches = (
        select(TimelineEvent.incident_id, func.count().label("n"))
        .where(TimelineEvent.kind == EventKind.CLOCK_BREACH.value)
        .group_by(TimelineEvent.incident_id)
        .subquery()
    )
    result = await session.execute(
        select(Incident, commander_at.c.at, breaches.c.n)
        .outerjoin(commander_at, commander_at.c.incident_id == Incident.id)
        .outerjoin(breaches, breaches.c.incident_id == Incident.id)
        .where(Incident.created_at >= since, Incident.is_drill.is_(False))
    )
    return [
        IncidentTimes(
            severity=incident.severity,
            created_at=incident.created_at,
            acknowledged_at=incident.acknowledged_at,
            commander_at=at,
            resolved_at=incident.resolved_at,
            breaches=int(n or 0),
        )
        for incident, at, n in result.all()
    ]


async def role_assignment(
    session: AsyncSession, incident_id: int, role: str
) -> RoleAssignment | None:
    """Who holds `role` in the incident, since when and by whose hand (None: nobody)."""
    return await session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.incident_id == incident_id, RoleAssignment.role == role
        )
    )


async def role_holder(session: AsyncSession, incident_id: int, role: str) -> str | None:
    """The Slack user id holding `role` in the incident (None: nobody)."""
    return await session.scalar(
        select(RoleAssignment.user_id).where(
            RoleAssignment.incident_id == incident_id, RoleAssignment.role == role
        )
    )


async def last_events(session: AsyncSession, incident_id: int, count: int) -> list[TimelineEvent]:
    """The incident's last `count` timeline events, oldest first."""
    result = await session.execute(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        .limit(count)
    )
    return list(reversed(list(result.scalars())))


async def events_after(
    session: AsyncSession, incident_id: int, after_id: int
) -> list[TimelineEvent]:
    """The incident's timeline events written after the one with id `after_id`, in id order."""
    found = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.id > after_id)
        .order_by(TimelineEvent.id)
    )
    return list(found.all())


@functools.cache
def _insert_event_once(dialect: str) -> Any:
    insert = dialect_insert(dialect)
    table: Table = TimelineEvent.__table__  # type: ignore[assignment]
    return insert(table).on_conflict_do_nothing(index_elements=["incident_id", "dedup_key"])


async def record_once(
    session: AsyncSession, incident_id: int, entry: TimelineEntry, now: datetime, dedup_key: str
) -> None:
    """Append one event unless the incident's timeline has one with `dedup_key` (a pin
    pinned twice is recorded once)."""
    row = {
        "incident_id": incident_id,
        "occurred_at": entry.occurred_at,
        "recorded_at": now,
        "kind": entry.kind.value,
        "actor": entry.actor,
        "source": entry.source,
        "text": entry.text,
        "data": entry.data,
        "dedup_key": dedup_key,
    }
    await session.execute(_insert_event_once(session.get_bind().dialect.name), row)


async def remove_event(session: AsyncSession, incident_id: int, dedup_key: str) -> None:
    """Take the event recorded with `dedup_key` off the incident's timeline (an unpin)."""
    await session.execute(
        delete(TimelineEvent).where(
            TimelineEvent.incident_id == incident_id, TimelineEvent.dedup_key == dedup_key
        )
    )
