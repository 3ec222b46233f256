"""Storing alerts: one row per (source, fingerprint), updated in place when re-sent."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Table, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import NormalizedAlert
from bot.core.routing import QUEUE_PREFIX, SMOKE_KEY
from bot.db.engine import dialect_insert
from bot.db.models import Alert

_UPDATED_ON_REPEAT = (
    "status",
    "severity",
    "summary",
    "description",
    "labels",
    "links",
    "ends_at",
    "group_key",
    "updated_at",
)


def _row(alert: NormalizedAlert, now: datetime) -> dict[str, Any]:
    return {
        "source": alert.source,
        "fingerprint": alert.fingerprint,
        "group_key": alert.group_key,
        "status": alert.status,
        "severity": alert.severity,
        "summary": alert.summary,
        "description": alert.description,
        "labels": dict(alert.labels),
        "links": dict(alert.links),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "received_at": now,
        "updated_at": now,
    }


@functools.cache
def _upsert(dialect: str) -> Insert:
    """One statement per dialect, built once: SQLAlchemy caches its compiled form, and the
    rows go as parameters (executemany with RETURNING) instead of being baked into SQL."""
    insert = dialect_insert(dialect)
    table: Table = Alert.__table__  # type: ignore[assignment]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["source", "fingerprint"],
        set_={name: getattr(statement.excluded, name) for name in _UPDATED_ON_REPEAT},
    ).returning(table.c.id, sort_by_parameter_order=True)


async def store_alerts(
    session: AsyncSession, alerts: Sequence[NormalizedAlert], now: datetime
) -> list[int]:
    """Insert or update every alert in one statement; a repeat never makes a second row."""
    if not alerts:
        return []
    # One row per fingerprint per statement: PostgreSQL refuses to update a row twice.
    latest = {(a.source, a.fingerprint): a for a in alerts}
    rows = [_row(a, now) for a in latest.values()]
    dialect = session.get_bind().dialect.name
    result = await session.execute(_upsert(dialect), rows)
    return [int(i) for i in result.scalars()]


async def complete_partial(
    session: AsyncSession, alerts: Sequence[NormalizedAlert]
) -> list[NormalizedAlert]:
    """A partial alert (only its status is news) takes the rest from the stored alert with
    the same fingerprint, so it lands in the same group with the same text; unknown ones stay
    as they are."""
    keys = {(a.source, a.fingerprint) for a in alerts if a.partial}
    if not keys:
        return list(alerts)
    stored = {
        (row.source, row.fingerprint): row
        for row in await session.scalars(
            select(Alert).where(tuple_(Alert.source, Alert.fingerprint).in_(keys))
        )
    }
    return [_completed(a, stored.get((a.source, a.fingerprint))) for a in alerts]


def _completed(alert: NormalizedAlert, row: Alert | None) -> NormalizedAlert:
    if not alert.partial or row is None:
        return alert
    return dataclasses.replace(
        alert,
        group_key=row.group_key,
        severity=row.severity,  # type: ignore[arg-type]  # stored from a Severity
        summary=row.summary,
        description=row.description,
        labels={**row.labels, **alert.labels},
        links=dict(row.links) or alert.links,
        starts_at=row.starts_at or alert.starts_at,
    )


async def alert_labels_of(session: AsyncSession, incident_id: int) -> list[dict[str, Any]]:
    """The labels of every alert of the incident (one mapping per alert)."""
    found = await session.scalars(select(Alert.labels).where(Alert.incident_id == incident_id))
    return list(found.all())


async def newest_alerts_of_incident(
    session: AsyncSession, incident_id: int, limit: int
) -> list[Alert]:
    """Up to `limit` of the incident's alerts: firing before resolved, newest first."""
    return await _newest(session, Alert.incident_id == incident_id, limit)


async def newest_alerts_of_group(session: AsyncSession, group_key: str, limit: int) -> list[Alert]:
    """Up to `limit` of the group's alerts: firing before resolved, newest first."""
    return await _newest(session, Alert.group_key == group_key, limit)


async def _newest(session: AsyncSession, which: ColumnElement[bool], limit: int) -> list[Alert]:
    result = await session.execute(
        select(Alert)
        .where(which)
        .order_by(Alert.status, Alert.received_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return list(result.scalars())


async def some_alerts_of_incident(
    session: AsyncSession, incident_id: int, limit: int
) -> list[Alert]:
    """Up to `limit` of the incident's alerts, in no particular order."""
    found = await session.scalars(
        select(Alert).where(Alert.incident_id == incident_id).limit(limit)
    )
    return list(found.all())


async def count_alerts(session: AsyncSession, incident_id: int) -> tuple[int, int]:
    """(firing, resolved) alerts of an incident."""
    firing, resolved, _ = await alerts_signature(session, incident_id)
    return firing, resolved


async def alerts_signature(session: AsyncSession, incident_id: int) -> tuple[int, int, str]:
    """(firing, resolved, signature): the signature changes when an alert joins or changes
    state, so the room is only told when there is news."""
    result = await session.execute(
        select(Alert.status, func.count(), func.max(Alert.id))
        .where(Alert.incident_id == incident_id)
        .group_by(Alert.status)
    )
    counts: dict[str, int] = {}
    newest = 0
    for status, n, top in result.all():
        counts[str(status)] = int(n)
        newest = max(newest, int(top or 0))
    firing, resolved = counts.get("firing", 0), counts.get("resolved", 0)
    return firing, resolved, f"{firing}/{resolved}/{newest}"


async def claim_silent_queue_alerts(
    session: AsyncSession, updated_before: datetime, limit: int
) -> list[Alert]:
    """Up to `limit` firing queue alerts and smoke tests (generic source) not sent again
    since `updated_before`, in id order, locked for this transaction; rows another replica
    holds are skipped (`FOR UPDATE SKIP LOCKED`)."""
    result = await session.execute(
        select(Alert)
        .where(
            Alert.source == "generic",
            Alert.status == "firing",
            Alert.updated_at <= updated_before,
            or_(Alert.fingerprint.startswith(QUEUE_PREFIX), Alert.fingerprint == SMOKE_KEY),
        )
        .order_by(Alert.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())
