"""What alert groups do as time passes, and what their buttons do.

- A warning still firing after `warning_promote_after` becomes an incident with a war room.
- When every alert of an incident has resolved and `resolve_quiet_period` passed quietly,
  the room is told and resolution suggested — never closed automatically.
Rows are claimed with FOR UPDATE SKIP LOCKED, so replicas ticking together act once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.pipeline import ingest, open_incident
from bot.core.alerts import NormalizedAlert
from bot.core.maintenance import active_window
from bot.core.routing import (
    Action,
    Routing,
    incident_key_for_group,
    promotion_due,
    resolution_suggestion_due,
)
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import claim_warnings_firing_since, lock_group, open_incident_of
from bot.db.alerts import claim_silent_queue_alerts, count_alerts
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.incidents import claim_quiet_incidents, open_incidents_by_severity, record
from bot.db.models import Alert, AlertGroup, Incident
from bot.outbox.requests import request_group_post, request_room_message
from bot.runtime.ports import AlertPorts
from bot.slack.alert_messages import resolution_suggestion

log = logging.getLogger(__name__)
BATCH = 50


async def alert_tick(services: AlertPorts) -> None:
    now = services.clock.now()
    try:
        await expire_silent_alerts(services, now)
        await promote_due_groups(services, now)
        await suggest_resolutions(services, now)
    except DATABASE_UNAVAILABLE as exc:
        log.warning("alert tick skipped: database unavailable", extra={"error": type(exc).__name__})
        return
    await _count_open(services)


async def _count_open(services: AlertPorts) -> None:
    try:
        async with services.db.begin() as session:
            counts = await open_incidents_by_severity(session)
    except DATABASE_UNAVAILABLE:
        return
    for severity in ("critical", "warning", "info"):
        services.metrics.open_incidents.labels(severity).set(counts.get(severity, 0))


async def expire_silent_alerts(services: AlertPorts, now: datetime) -> int:
    """Queue alerts and smoke tests not sent again within `resolve_timeout` resolve, and
    their groups are routed as if the sender had said so."""
    timeout = services.settings.alerts.resolve_timeout
    async with services.db.begin() as session:
        claimed = await claim_silent_queue_alerts(session, now - timeout, BATCH * 10)
        silent = [_resolved(alert, now) for alert in claimed]
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


async def promote_due_groups(services: AlertPorts, now: datetime) -> int:
    settings = services.settings
    if active_window(settings.maintenance, now) is not None:
        return 0
    async with services.db.begin() as session:
        claimed = await claim_warnings_firing_since(
            session, now - settings.alerts.warning_promote_after, BATCH
        )
        groups = [
            g
            for g in claimed
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
    services: AlertPorts,
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


async def suggest_resolutions(services: AlertPorts, now: datetime) -> int:
    quiet = services.settings.alerts.resolve_quiet_period
    async with services.db.begin() as session:
        told = 0
        for incident in await claim_quiet_incidents(session, now - quiet, BATCH):
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
    session: AsyncSession, services: AlertPorts, incident: Incident, now: datetime
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


async def acknowledge_group(services: AlertPorts, group_id: int, user: str) -> AlertGroup | None:
    """The Acknowledge button on an alerts-channel post."""
    now = services.clock.now()
    async with services.db.begin() as session:
        group = await lock_group(session, group_id)
        if group is None:
            return None
        if group.acknowledged_by is None:
            group.acknowledged_by, group.acknowledged_at = user, now
            channel = group.message_channel or services.settings.slack.alerts_channel
            await request_group_post(session, group, channel, now, new=False)
    return group


async def open_room_for_group(services: AlertPorts, group_id: int, user: str) -> Incident | None:
    """The "Open war room" button: promote the group now (a second press joins the first)."""
    now = services.clock.now()
    async with services.db.begin() as session:
        group = await lock_group(session, group_id)
        if group is None:
            return None
        incident = await open_incident_of(session, group)
        if incident is not None:
            return incident
        incident = await promote(
            session, services, group, now, "opened from the alerts channel", user
        )
    return incident
