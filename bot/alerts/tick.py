"""What alert groups do as time passes, and what their buttons do.

- A warning still firing after `warning_promote_after` becomes an incident with a war room.
- When every alert of an incident has resolved and `resolve_quiet_period` passed quietly,
  the room is told and resolution suggested — never closed automatically.
Rows are claimed with FOR UPDATE SKIP LOCKED, so replicas ticking together act once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.pipeline import ingest, open_incident
from bot.core.alerts import NormalizedAlert
from bot.core.maintenance import active_window
from bot.core.routing import (
    QUEUE_PREFIX,
    SMOKE_KEY,
    Action,
    Routing,
    incident_key_for_group,
    promotion_due,
    resolution_suggestion_due,
)
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import OPEN_STATES, open_incident_of
from bot.db.incidents import record
from bot.db.models import Alert, AlertGroup, Incident
from bot.outbox.requests import request_group_post, request_room_message
from bot.runtime.services import Services
from bot.slack.alert_messages import resolution_suggestion
from bot.war_room.opening import count_alerts

log = logging.getLogger(__name__)
BATCH = 50


async def alert_tick(services: Services) -> None:
    now = services.clock.now()
    try:
        done = await expire_silent_alerts(services, now)
        done += await promote_due_groups(services, now)
        done += await suggest_resolutions(services, now)
    except (OperationalError, DBAPIError, OSError) as exc:
        log.warning("alert tick skipped: database unavailable", extra={"error": type(exc).__name__})
        return
    await _count_open(services)


async def _count_open(services: Services) -> None:
    try:
        async with services.db.begin() as session:
            result = await session.execute(
                select(Incident.severity, func.count())
                .where(Incident.state.in_(OPEN_STATES))
                .group_by(Incident.severity)
            )
            counts = {str(severity): int(n) for severity, n in result.all()}
    except (OperationalError, DBAPIError, OSError):
        return
    for severity in ("critical", "warning", "info"):
        services.metrics.open_incidents.labels(severity).set(counts.get(severity, 0))


async def expire_silent_alerts(services: Services, now: datetime) -> int:
    """Queue alerts and smoke tests not sent again within `resolve_timeout` resolve, and
    their groups are routed as if the sender had said so."""
    timeout = services.settings.alerts.resolve_timeout
    async with services.db.begin() as session:
        result = await session.execute(
            select(Alert)
            .where(
                Alert.source == "generic",
                Alert.status == "firing",
                Alert.updated_at <= now - timeout,
                or_(Alert.fingerprint.startswith(QUEUE_PREFIX), Alert.fingerprint == SMOKE_KEY),
            )
            .order_by(Alert.id)
            .limit(BATCH * 10)
            .with_for_update(skip_locked=True)
        )
        silent = [_resolved(alert, now) for alert in result.scalars()]
        if silent:
            await ingest(session, silent, services.settings, now)
    return len(silent)


def _resolved(alert: Alert, now: datetime) -> NormalizedAlert:
    return NormalizedAlert(
        source="generic",
        fingerprint=alert.fingerprint,
        group_key=alert.group_key,
        status="resolved",
        severity=alert.severity,  # type: ignore[arg-type]
        summary=alert.summary,
        description=alert.description,
        labels=dict(alert.labels),
        links=dict(alert.links),
        starts_at=alert.starts_at,
        ends_at=now,
    )


async def promote_due_groups(services: Services, now: datetime) -> int:
    settings = services.settings
    if active_window(settings.maintenance, now) is not None:
        return 0
    async with services.db.begin() as session:
        result = await session.execute(
            select(AlertGroup)
            .where(
                AlertGroup.status == "firing",
                AlertGroup.severity == "warning",
                AlertGroup.incident_id.is_(None),
                AlertGroup.during_maintenance.is_(False),
                AlertGroup.first_fired_at <= now - settings.alerts.warning_promote_after,
            )
            .order_by(AlertGroup.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        groups = [
            g
            for g in result.scalars()
            if promotion_due(
                severity=g.severity,
                firing=True,
                has_incident=False,
                first_fired_at=g.first_fired_at,
                settings=settings.alerts,
                now=now,
            )
        ]
        for group in groups:
            minutes = int(settings.alerts.warning_promote_after.total_seconds() // 60)
            await promote(
                session, services, group, now, f"warning still firing after {minutes} min"
            )
    return len(groups)


async def promote(
    session: AsyncSession,
    services: Services,
    group: AlertGroup,
    now: datetime,
    reason: str,
    actor: str | None = None,
) -> Incident:
    key = incident_key_for_group(group.group_key, group.queue, services.settings.alerts)
    routing = Routing(Action.OPEN_INCIDENT, reason, incident_key=key)
    incident = await open_incident(session, [group], routing, services.settings, now, actor=actor)
    await record(
        session,
        incident.id,
        TimelineEntry(
            kind=EventKind.PROMOTED,
            occurred_at=now,
            actor=actor,
            source="slack" if actor else "bot",
            text=f"Promoted to an incident: {reason}",
            data={"group_key": group.group_key},
        ),
        now,
    )
    return incident


async def suggest_resolutions(services: Services, now: datetime) -> int:
    quiet = services.settings.alerts.resolve_quiet_period
    async with services.db.begin() as session:
        result = await session.execute(
            select(Incident)
            .where(
                Incident.state.in_(OPEN_STATES),
                Incident.room_state == "open",
                Incident.last_alert_at <= now - quiet,
                or_(
                    Incident.resolve_suggested_at.is_(None),
                    Incident.resolve_suggested_at < Incident.last_alert_at,
                ),
            )
            .order_by(Incident.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        told = 0
        for incident in result.scalars():
            firing, resolved = await count_alerts(session, incident.id)
            if not resolution_suggestion_due(
                firing_alerts=firing,
                resolved_alerts=resolved,
                last_alert_at=incident.last_alert_at,
                suggested_at=incident.resolve_suggested_at,
                settings=services.settings.alerts,
                now=now,
            ):
                continue
            await _suggest(session, services, incident, now)
            told += 1
    return told


async def _suggest(
    session: AsyncSession, services: Services, incident: Incident, now: datetime
) -> None:
    quiet = services.settings.alerts.resolve_quiet_period
    message = resolution_suggestion(services.templates, incident.id, quiet)
    incident.resolve_suggested_at = now
    await request_room_message(session, incident, message.text, now, message.blocks)
    await record(
        session,
        incident.id,
        TimelineEntry(
            kind=EventKind.RESOLUTION_SUGGESTED,
            occurred_at=now,
            text="All alerts resolved and quiet: resolution suggested",
            data={"quiet_seconds": int(quiet.total_seconds())},
        ),
        now,
    )


async def acknowledge_group(services: Services, group_id: int, user: str) -> AlertGroup | None:
    """The Acknowledge button on an alerts-channel post."""
    now = services.clock.now()
    async with services.db.begin() as session:
        group = await session.get(AlertGroup, group_id, with_for_update=True)
        if group is None:
            return None
        if group.acknowledged_by is None:
            group.acknowledged_by, group.acknowledged_at = user, now
            channel = group.message_channel or services.settings.slack.alerts_channel
            await request_group_post(session, group, channel, now, new=False)
    return group


async def open_room_for_group(services: Services, group_id: int, user: str) -> Incident | None:
    """The "Open war room" button: promote the group now (a second press joins the first)."""
    now = services.clock.now()
    async with services.db.begin() as session:
        group = await session.get(AlertGroup, group_id, with_for_update=True)
        if group is None:
            return None
        incident = await open_incident_of(session, group)
        if incident is not None:
            return incident
        incident = await promote(
            session, services, group, now, "opened from the alerts channel", user
        )
    return incident
