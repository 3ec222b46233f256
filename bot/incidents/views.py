"""Read-only views of an incident for people: `/incident status` and `/incident timeline`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.deadlines import IncidentClock, deadlines, human_duration
from bot.core.slack_text import safe
from bot.core.stats import summarise
from bot.db.incidents import incident_times_since, last_events, roles_of
from bot.db.models import Incident
from bot.incidents.actions import ActionError
from bot.infra.templates import Mrkdwn
from bot.runtime.ports import IncidentPorts
from bot.slack import blocks

MAX_TIMELINE = 50


async def _incident(services: IncidentPorts, incident_id: int) -> tuple[Incident, dict[str, str]]:
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise ActionError(f"there is no incident #{incident_id} — check the number")
        roles = await roles_of(session, incident_id)
    return incident, roles


async def status_text(services: IncidentPorts, incident_id: int, now: datetime) -> str:
    incident, roles = await _incident(services, incident_id)
    settings = services.settings
    role_lines = [
        f"{spec.title}: {blocks.user_mention(roles[name]) if name in roles else '_nobody yet_'}"
        for name, spec in settings.roles.items()
    ]
    due = due_lines(services, incident, roles, now)
    end = incident.resolved_at or now
    return services.templates.render(
        "incident_status.md.j2",
        incident_id=incident.id,
        title=incident.title,
        state=incident.state,
        severity=incident.severity,
        open_for=human_duration(end - incident.created_at),
        roles=[Mrkdwn(line) for line in role_lines],
        due=due,
    )


def due_lines(
    services: IncidentPorts, incident: Incident, roles: dict[str, str], now: datetime
) -> list[str]:
    """What is due when, for people: `status update: due 03:27 CET`."""
    tz = ZoneInfo(services.settings.timezone)
    if incident.resolved_at is not None:
        return [f"resolved {incident.resolved_at.astimezone(tz):%Y-%m-%d %H:%M %Z}"]
    clock = IncidentClock(
        created_at=incident.created_at,
        # a reopened incident is owed a new acknowledgement
        acknowledged_at=None if incident.state == "triggered" else incident.acknowledged_at,
        resolved_at=incident.resolved_at,
        last_update_at=incident.last_update_at,
        has_commander="commander" in roles,
    )
    policy = services.settings.escalation.get(incident.severity)
    return [
        f"{d.what}: {'*overdue* since' if d.overdue else 'due'} {d.due_at.astimezone(tz):%H:%M %Z}"
        for d in (deadlines(clock, policy, now) if policy else [])
    ]


async def clock_text(services: IncidentPorts, incident_id: int, now: datetime) -> str:
    """The pinned clock message's text."""
    incident, roles = await _incident(services, incident_id)
    tz = ZoneInfo(services.settings.timezone)
    return services.templates.render(
        "clock_message.md.j2",
        incident_id=incident.id,
        state=incident.state,
        severity=incident.severity,
        open_for=human_duration((incident.resolved_at or now) - incident.created_at),
        lines=due_lines(services, incident, roles, now),
        updated=f"{now.astimezone(tz):%H:%M %Z}",
    )


async def stats_text(services: IncidentPorts, days: int, now: datetime) -> str:
    since = now - timedelta(days=days)
    async with services.db.begin() as session:
        times = await incident_times_since(session, since)
    summary = summarise(times)

    def shown(delta: timedelta | None) -> str:
        return human_duration(delta) if delta is not None else "—"

    return services.templates.render(
        "incident_stats.md.j2",
        days=days,
        count=summary.count,
        by_severity=", ".join(f"{n} {s}" for s, n in sorted(summary.by_severity.items())) or "none",
        open=summary.open,
        mtta=shown(summary.mtta),
        time_to_ic=shown(summary.time_to_ic),
        mttr=shown(summary.mttr),
        within_goal=summary.within_goal,
        resolved=summary.resolved,
        breaches=summary.breaches,
    )


async def timeline_text(services: IncidentPorts, incident_id: int, count: int) -> str:
    await _incident(services, incident_id)
    tz = ZoneInfo(services.settings.timezone)
    async with services.db.begin() as session:
        events = await last_events(session, incident_id, min(count, MAX_TIMELINE))
    lines = [f"*Incident #{incident_id}: the last {len(events)} events*"]
    for event in events:
        who = f" {blocks.user_mention(event.actor)}" if event.actor else ""
        lines.append(
            f"`{event.occurred_at.astimezone(tz):%H:%M:%S}` {event.kind}{who}: "
            f"{safe(event.text, 300)}"
        )
    return "\n".join(lines)
