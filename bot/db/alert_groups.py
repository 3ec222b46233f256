"""Alert groups: one row per group key, locked while a batch of its alerts is routed."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import dialect_insert
from bot.db.models import Alert, AlertGroup, Incident

OPEN_STATES = ("triggered", "acknowledged", "mitigated")


@dataclass(frozen=True)
class GroupStats:
    firing: int
    resolved: int
    firing_severities: list[str]
    all_severities: list[str]


@functools.cache
def _insert_new_groups(dialect: str) -> Any:
    insert = dialect_insert(dialect)
    table: Table = AlertGroup.__table__  # type: ignore[assignment]
    return insert(table).on_conflict_do_nothing(index_elements=["group_key"])


async def lock_groups(
    session: AsyncSession, titles: Mapping[str, tuple[str, str]], now: datetime
) -> dict[str, AlertGroup]:
    """Make sure a row exists for every group key (title, severity), then lock them all in key
    order — concurrent batches of the same group wait for each other, never deadlock."""
    rows = [
        {
            "group_key": key,
            "title": title[:200],
            "severity": severity,
            "status": "new",
            "first_fired_at": now,
            "last_alert_at": now,
            "during_maintenance": False,
            "updated_at": now,
        }
        for key, (title, severity) in sorted(titles.items())
    ]
    await session.execute(_insert_new_groups(session.get_bind().dialect.name), rows)
    result = await session.execute(
        select(AlertGroup)
        .where(AlertGroup.group_key.in_(sorted(titles)))
        .order_by(AlertGroup.group_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {group.group_key: group for group in result.scalars()}


async def group_stats(session: AsyncSession, group_key: str) -> GroupStats:
    result = await session.execute(
        select(Alert.status, Alert.severity, func.count())
        .where(Alert.group_key == group_key)
        .group_by(Alert.status, Alert.severity)
    )
    firing = resolved = 0
    firing_severities: list[str] = []
    all_severities: list[str] = []
    for status, severity, count in result.all():
        all_severities.append(severity)
        if status == "firing":
            firing += count
            firing_severities.append(severity)
        else:
            resolved += count
    return GroupStats(firing, resolved, firing_severities, all_severities)


async def open_incident_of(session: AsyncSession, group: AlertGroup) -> Incident | None:
    if group.incident_id is None:
        return None
    incident = await session.get(Incident, group.incident_id)
    return incident if incident is not None and incident.state in OPEN_STATES else None


async def failing_queue_groups(
    session: AsyncSession, except_key: str, since: datetime, until: datetime
) -> list[AlertGroup]:
    """Other queue groups, firing and in no incident, that started failing between `since`
    and `until` (read, not locked)."""
    result = await session.execute(
        select(AlertGroup)
        .where(
            AlertGroup.queue.is_not(None),
            AlertGroup.group_key != except_key,
            AlertGroup.status == "firing",
            AlertGroup.incident_id.is_(None),
            AlertGroup.first_fired_at >= since,
            AlertGroup.first_fired_at <= until,
        )
        .order_by(AlertGroup.group_key)
    )
    return list(result.scalars())


async def lock_free_groups(session: AsyncSession, groups: list[AlertGroup]) -> list[AlertGroup]:
    """Those of `groups` no other transaction holds, now locked by this one. A held group is
    left to its holder (waiting could deadlock); it joins at its own next alert."""
    if not groups:
        return []
    result = await session.execute(
        select(AlertGroup)
        .where(AlertGroup.id.in_([g.id for g in groups]))
        .order_by(AlertGroup.group_key)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def queues_of_incident(session: AsyncSession, incident_id: int) -> set[str]:
    result = await session.execute(
        select(AlertGroup.queue).where(
            AlertGroup.incident_id == incident_id, AlertGroup.queue.is_not(None)
        )
    )
    return {str(queue) for queue in result.scalars()}


async def release_groups(session: AsyncSession, incident_id: int) -> None:
    """A resolved incident lets its groups go: their next alert routes afresh."""
    await session.execute(
        update(AlertGroup).where(AlertGroup.incident_id == incident_id).values(incident_id=None)
    )


async def incident_open_for_key(session: AsyncSession, key: str) -> bool:
    found = await session.scalar(select(Incident.id).where(Incident.open_group_key == key))
    return found is not None


async def attach_alerts(
    session: AsyncSession, group_key: str, incident_id: int, *, firing_only: bool
) -> None:
    """Link a group's alerts to its incident (re-fired alerts move to the new incident)."""
    condition = [Alert.group_key == group_key]
    if firing_only:
        condition.append(Alert.status == "firing")
    await session.execute(update(Alert).where(*condition).values(incident_id=incident_id))


async def lock_group(session: AsyncSession, group_id: int) -> AlertGroup | None:
    """The group, its row locked for this transaction (None if unknown)."""
    return await session.get(AlertGroup, group_id, with_for_update=True)


async def claim_warnings_firing_since(
    session: AsyncSession, fired_before: datetime, limit: int
) -> list[AlertGroup]:
    """Up to `limit` warning groups firing since `fired_before` or earlier, in no incident and
    not opened in maintenance, in id order, locked for this transaction; groups another
    replica holds are skipped (`FOR UPDATE SKIP LOCKED`)."""
    result = await session.execute(
        select(AlertGroup)
        .where(
            AlertGroup.status == "firing",
            AlertGroup.severity == "warning",
            AlertGroup.incident_id.is_(None),
            AlertGroup.during_maintenance.is_(False),
            AlertGroup.first_fired_at <= fired_before,
        )
        .order_by(AlertGroup.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


async def groups_of_incident(session: AsyncSession, incident_id: int) -> list[AlertGroup]:
    """The incident's groups, in id order."""
    found = await session.scalars(
        select(AlertGroup).where(AlertGroup.incident_id == incident_id).order_by(AlertGroup.id)
    )
    return list(found.all())


async def posted_groups_of_incident(session: AsyncSession, incident_id: int) -> list[AlertGroup]:
    """The incident's groups that have a post in the alerts channel."""
    result = await session.execute(
        select(AlertGroup).where(
            AlertGroup.incident_id == incident_id, AlertGroup.message_ts.is_not(None)
        )
    )
    return list(result.scalars())
