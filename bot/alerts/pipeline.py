"""Alerts in: store, group, route — in the intake's transaction, so a 202 means all of it.

The decisions are `bot.core.routing`'s; this module reads and writes the rows they need and
queues the Slack work in the outbox. One batch locks its groups' rows, so Alertmanager
repeats and HA duplicates arriving at once are handled one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import Settings
from bot.core.alerts import NormalizedAlert
from bot.core.drill_keys import DrillMark, drill_routing
from bot.core.maintenance import active_window
from bot.core.routing import (
    QUEUES_INCIDENT_KEY,
    SEVERITY_RANK,
    Action,
    GroupView,
    Routing,
    highest_severity,
    queue_of,
    route,
)
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import (
    attach_alerts,
    failing_queue_groups,
    group_stats,
    incident_open_for_key,
    lock_free_groups,
    lock_groups,
    open_incident_of,
    queues_of_incident,
)
from bot.db.alerts import complete_partial, store_alerts
from bot.db.incidents import open_incident_for_key, record
from bot.db.models import AlertGroup, Incident
from bot.escalation.ticker import set_severity
from bot.outbox.requests import request_group_post, request_room_message, request_room_summary
from bot.war_room.declare import declare_incident

MULTI_QUEUE_TITLE = "Several queues failing: "


@dataclass(frozen=True)
class GroupOutcome:
    group_key: str
    group_id: int
    action: str
    reason: str
    incident_id: int | None


@dataclass(frozen=True)
class Ingested:
    alert_ids: list[int]
    groups: list[GroupOutcome]


async def ingest(
    session: AsyncSession,
    alerts: Sequence[NormalizedAlert],
    settings: Settings,
    now: datetime,
    *,
    drill: DrillMark | None = None,
) -> Ingested:
    """`drill`: the alerts are a drill run's (already namespaced, see `bot.core.drill_keys`):
    they open or join that run's DRILL incident and nothing else."""
    if not alerts:
        return Ingested([], [])
    alerts = await complete_partial(session, alerts)
    by_group: dict[str, list[NormalizedAlert]] = {}
    for alert in alerts:
        by_group.setdefault(alert.group_key, []).append(alert)
    titles = {
        key: (batch[0].summary, highest_severity([a.severity for a in batch]))
        for key, batch in by_group.items()
    }
    groups = await lock_groups(session, titles, now)
    ids = await store_alerts(session, alerts, now)
    in_maintenance = active_window(settings.maintenance, now) is not None
    outcomes = [
        await _route_group(session, groups[key], batch, settings, now, in_maintenance, drill)
        for key, batch in sorted(by_group.items())
    ]
    return Ingested(ids, outcomes)


async def _route_group(
    session: AsyncSession,
    group: AlertGroup,
    batch: list[NormalizedAlert],
    settings: Settings,
    now: datetime,
    in_maintenance: bool,
    drill: DrillMark | None = None,
) -> GroupOutcome:
    was_firing = group.status == "firing"
    if drill is None:  # a drill group is no queue's: real queue incidents never see it
        group.queue = group.queue or queue_of(group.group_key, [a.labels for a in batch])
    stats = await group_stats(session, group.group_key)
    firing = stats.firing > 0
    if firing and not was_firing:
        group.first_fired_at = now
        group.acknowledged_by = None
        group.acknowledged_at = None
        group.title = batch[0].summary[:200]
    group.status = "firing" if firing else "resolved"
    group.severity = highest_severity(stats.firing_severities or stats.all_severities)
    group.last_alert_at = group.updated_at = now
    incident = await open_incident_of(session, group)
    others = await _other_failing_queues(session, group, settings) if firing else []
    failing_queues = len(others) or await _queues_incident_open(session, group, settings)
    if drill is not None:
        others, failing_queues = [], 0
    view = GroupView(
        group_key=group.group_key,
        queue=group.queue,
        severity=group.severity,
        firing=firing,
        refired=firing and not was_firing,
        has_incident=incident is not None,
        has_post=group.message_ts is not None,
        last_posted_at=group.last_posted_at,
        other_failing_queues=int(failing_queues),
    )
    routing = (
        drill_routing(view, drill)
        if drill is not None
        else route(view, settings.alerts, now, in_maintenance=in_maintenance)
    )
    if routing.action is not Action.POST:  # a POST below starts its clock afresh
        group.during_maintenance = routing.during_maintenance
    incident_id = await _act(session, group, batch, routing, incident, others, settings, now, drill)
    return GroupOutcome(
        group.group_key, group.id, routing.action.value, routing.reason, incident_id
    )


async def _other_failing_queues(
    session: AsyncSession, group: AlertGroup, settings: Settings
) -> list[AlertGroup]:
    if not (settings.alerts.group_queues and group.queue):
        return []
    window = settings.alerts.multi_queue_window
    return await failing_queue_groups(
        session, group.group_key, group.first_fired_at - window, group.first_fired_at + window
    )


async def _queues_incident_open(
    session: AsyncSession, group: AlertGroup, settings: Settings
) -> bool:
    """A queue failing while the queues' DR incident is open joins it, whenever it started."""
    if not (settings.alerts.group_queues and group.queue):
        return False
    return await incident_open_for_key(session, QUEUES_INCIDENT_KEY)


async def _act(
    session: AsyncSession,
    group: AlertGroup,
    batch: list[NormalizedAlert],
    routing: Routing,
    incident: Incident | None,
    others: list[AlertGroup],
    settings: Settings,
    now: datetime,
    drill: DrillMark | None = None,
) -> int | None:
    alerts_channel = settings.slack.alerts_channel
    if routing.action is Action.OPEN_INCIDENT:
        joining = [group, *await lock_free_groups(session, others)]
        opened = await open_incident(
            session, joining, routing, settings, now, also_named=others, drill=drill
        )
        await _record_alerts(session, opened.id, batch, now)
        return opened.id
    if routing.action is Action.UPDATE_ROOM and incident is not None:
        await attach_alerts(session, group.group_key, incident.id, firing_only=True)
        incident.last_alert_at = now
        await _record_alerts(session, incident.id, batch, now)
        await _raise_severity(session, incident, group.severity, settings, now)
        await request_room_summary(session, incident.id, now, settings.alerts.room_summary_debounce)
        return incident.id
    if routing.action is Action.POST:
        group.last_posted_at = now
        if group.during_maintenance:  # held back by a window: its clock starts now
            group.first_fired_at, group.during_maintenance = now, False
        await request_group_post(session, group, alerts_channel, now, new=True)
    elif routing.action is Action.UPDATE_POST:
        await request_group_post(
            session, group, group.message_channel or alerts_channel, now, new=False
        )
    return None


async def open_incident(
    session: AsyncSession,
    groups: list[AlertGroup],
    routing: Routing,
    settings: Settings,
    now: datetime,
    *,
    actor: str | None = None,
    also_named: list[AlertGroup] | None = None,
    drill: DrillMark | None = None,
) -> Incident:
    """Open (or join) the incident for these groups; the first opener queues the war room.
    `also_named`: groups the title mentions though another transaction attaches them."""
    key = routing.incident_key or groups[0].group_key
    named = [*groups, *(also_named or [])]
    title = _incident_title(key, named)
    several_queues = key == QUEUES_INCIDENT_KEY and len(named) > 1
    severity = "critical" if several_queues else groups[0].severity
    incident, created = await open_incident_for_key(
        session,
        key=key,
        title=title,
        severity=severity,
        now=now,
        during_maintenance=routing.during_maintenance,
        drill=drill is not None,
    )
    incident.last_alert_at = now
    if created:
        await declare_incident(
            session,
            incident,
            text=f"{severity} incident opened: {routing.reason}",
            data={"group_keys": [g.group_key for g in groups], "reason": routing.reason},
            actor=actor,
            source="slack" if actor else "alert",
            invitees=[actor] if actor else list(drill.invitees if drill else ()),
            policy=settings.escalation.get(severity),
            now=now,
        )
    for group in groups:
        await _join(session, incident, group, created, settings, now)
    if key == QUEUES_INCIDENT_KEY:
        queues = await queues_of_incident(session, incident.id)
        queues |= {g.queue for g in named if g.queue}
        if len(queues) > 1:
            incident.title = _queues_title(queues)
            incident.severity = "critical"  # playbook: several queues failing is a DR event
    if not created:
        await request_room_summary(session, incident.id, now, settings.alerts.room_summary_debounce)
    return incident


async def _join(
    session: AsyncSession,
    incident: Incident,
    group: AlertGroup,
    created: bool,
    settings: Settings,
    now: datetime,
) -> None:
    if group.incident_id == incident.id:
        return
    group.incident_id = incident.id
    await attach_alerts(session, group.group_key, incident.id, firing_only=True)
    if not created:
        await record(
            session,
            incident.id,
            TimelineEntry(
                kind=EventKind.GROUP_JOINED,
                occurred_at=now,
                text=f"Alert group joined: {group.title}",
                data={"group_key": group.group_key},
            ),
            now,
        )
    if group.message_ts is not None:  # its post in the alerts channel now links the room
        channel = group.message_channel or settings.slack.alerts_channel
        await request_group_post(session, group, channel, now, new=False)


def _incident_title(key: str, groups: list[AlertGroup]) -> str:
    queues = {g.queue for g in groups if g.queue}
    return (
        _queues_title(queues) if key == QUEUES_INCIDENT_KEY and len(queues) > 1 else groups[0].title
    )


def _queues_title(queues: set[str]) -> str:
    return f"{MULTI_QUEUE_TITLE}{', '.join(sorted(queues))}"[:200]


async def _record_alerts(
    session: AsyncSession, incident_id: int, batch: list[NormalizedAlert], now: datetime
) -> None:
    for alert in batch:
        fired = alert.status == "firing"
        await record(
            session,
            incident_id,
            TimelineEntry(
                kind=EventKind.ALERT_FIRED if fired else EventKind.ALERT_RESOLVED,
                occurred_at=(alert.starts_at if fired else alert.ends_at) or now,
                source=alert.source,
                text=f"{'Fired' if fired else 'Resolved'}: {alert.summary}",
                data={"fingerprint": alert.fingerprint, "severity": alert.severity},
            ),
            now,
        )


async def _raise_severity(
    session: AsyncSession, incident: Incident, severity: str, settings: Settings, now: datetime
) -> None:
    """An alert more severe than its open incident raises it, as a responder would with
    `/incident severity`: the new severity's clock replaces the old one from now (a warning
    room turned critical gets its DR-plan step). An alert never lowers a severity."""
    if SEVERITY_RANK.get(severity, 1) <= SEVERITY_RANK.get(incident.severity, 1):
        return
    before = incident.severity
    text = f"Severity {before} → {severity} (a {severity} alert joined)"
    entry = TimelineEntry(
        kind=EventKind.SEVERITY_CHANGED,
        occurred_at=now,
        source="alert",
        text=text,
        data={"before": before, "after": severity},
    )
    await set_severity(session, incident, severity, settings.escalation.get(severity), entry, now)
    said = f"{text}: its clock starts now."
    notice = f":construction: DRILL — {said}" if incident.is_drill else f":rotating_light: {said}"
    await request_room_message(session, incident, notice, now)
