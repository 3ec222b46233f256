"""What people do to an incident: acknowledge, take a role, change severity, post updates,
add notes, mitigate, resolve, reopen. Each is one transaction: the incident row locked, the
pure rules applied (`bot.core.lifecycle`), the timeline written and the Slack posts queued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycle import LifecycleError, Move, move
from bot.core.severity import SEVERITY_EMOJI
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import incident_open_for_key, release_groups
from bot.db.deadlines import cancel_clock, plan_clock
from bot.db.incidents import lock_incident, record, role_assignment
from bot.db.models import Incident, RoleAssignment
from bot.errors import WarroomError
from bot.escalation.ticker import set_severity
from bot.infra.templates import Mrkdwn
from bot.outbox.requests import (
    request_clock_refresh,
    request_message,
    request_room_message,
    request_topic,
)
from bot.post_incident.checklist import after_resolve
from bot.runtime.ports import IncidentPorts
from bot.slack import blocks
from bot.tickets.webhook import request_ticket_resolution

VERBS = {
    Move.ACK: "acknowledged",
    Move.MITIGATE: "mitigated",
    Move.RESOLVE: "resolved",
    Move.REOPEN: "reopened",
}
STATE_EMOJI = {
    Move.ACK: ":eyes:",
    Move.MITIGATE: ":adhesive_bandage:",
    Move.RESOLVE: ":white_check_mark:",
    Move.REOPEN: ":leftwards_arrow_with_hook:",
}


class ActionError(WarroomError):
    """The action cannot be done; `message` says why and what to do instead."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Done:
    text: str  # said privately to the person who acted


async def _locked(session: AsyncSession, incident_id: int) -> Incident:
    incident = await lock_incident(session, incident_id)
    if incident is None:
        raise ActionError(f"there is no incident #{incident_id} — check the number")
    return incident


def _mention(user: str) -> Mrkdwn:
    return Mrkdwn(blocks.user_mention(user))


def _entry(kind: EventKind, text: str, actor: str, now: datetime, **data: Any) -> TimelineEntry:
    return TimelineEntry(
        kind=kind, occurred_at=now, actor=actor, source="slack", text=text, data=data
    )


async def change_state(
    services: IncidentPorts,
    incident_id: int,
    step: Move,
    actor: str,
    now: datetime,
    summary: str = "",
) -> Done:
    async with services.db.begin() as session:
        incident = await _locked(session, incident_id)
        try:
            stamps = move(incident.state, step, incident_id=incident.id)
        except LifecycleError as exc:
            raise ActionError(str(exc)) from exc
        before = incident.state
        incident.state = stamps.state.value
        if stamps.acknowledged and incident.acknowledged_at is None:
            incident.acknowledged_at, incident.acknowledged_by = now, actor
            services.metrics.time_to_ack.observe((now - incident.created_at).total_seconds())
        if stamps.mitigated and incident.mitigated_at is None:
            incident.mitigated_at, incident.mitigated_by = now, actor
        if stamps.resolved:
            incident.resolved_at, incident.resolved_by = now, actor
            services.metrics.time_to_resolve.observe((now - incident.created_at).total_seconds())
            incident.resolution = summary or None
            incident.open_group_key = None  # a new alert of the group opens a new incident
            await release_groups(session, incident.id)
            await cancel_clock(session, incident.id, now)
            await request_ticket_resolution(session, services, incident, now)
        if stamps.clears_resolution:
            await _reopen_key(session, incident)
            incident.resolved_at = incident.resolved_by = incident.resolution = None
            policy = services.settings.escalation.get(incident.severity)
            await plan_clock(session, incident, policy, now)
        incident.version += 1
        incident.updated_at = now
        verb = VERBS[step]
        await record(
            session,
            incident.id,
            _entry(
                EventKind.STATE_CHANGED,
                f"{verb.capitalize()}{': ' + summary if summary else ''}",
                actor,
                now,
                before=before,
                after=incident.state,
            ),
            now,
        )
        text = services.templates.render(
            "state_change.md.j2",
            emoji=STATE_EMOJI[step],
            incident_id=incident.id,
            verb=verb,
            actor_mention=_mention(actor),
            summary=summary,
        )
        await request_room_message(session, incident, text, now)
        if stamps.resolved:
            await after_resolve(session, services, incident, now)
        await request_topic(session, services.templates, incident, now)
        await request_clock_refresh(session, incident.id, now)
    return Done(f"Incident #{incident_id} {verb}.")


async def _reopen_key(session: AsyncSession, incident: Incident) -> None:
    """Take the group key back, unless a newer incident of the same group holds it."""
    if not incident.group_key:
        return
    if not await incident_open_for_key(session, incident.group_key):
        incident.open_group_key = incident.group_key


async def assign_role(
    services: IncidentPorts, incident_id: int, role: str, user: str, actor: str, now: datetime
) -> Done:
    spec = services.settings.roles.get(role)
    if spec is None:
        known = ", ".join(services.settings.roles)
        raise ActionError(f"there is no role `{role}` — use one of: {known}")
    async with services.db.begin() as session:
        incident = await _locked(session, incident_id)
        if incident.state == "resolved":
            raise ActionError(f"incident #{incident_id} is resolved — `/incident reopen` first")
        current = await role_assignment(session, incident.id, role)
        if current is not None and current.user_id == user:
            return Done(f"{blocks.user_mention(user)} is already {spec.title}.")
        if current is None:
            session.add(
                RoleAssignment(
                    incident_id=incident.id,
                    role=role,
                    user_id=user,
                    assigned_by=actor,
                    assigned_at=now,
                )
            )
        else:
            current.user_id, current.assigned_by, current.assigned_at = user, actor, now
        incident.version += 1
        incident.updated_at = now
        await record(
            session,
            incident.id,
            _entry(
                EventKind.ROLE_ASSIGNED,
                f"{spec.title}: {user}",
                actor,
                now,
                role=role,
                user=user,
                before=current.user_id if current else None,
            ),
            now,
        )
        said = services.templates.render(
            "role_assigned.md.j2",
            user_mention=_mention(user),
            role_title=spec.title,
            incident_id=incident.id,
            actor_mention=_mention(actor),
        )
        await request_room_message(session, incident, said, now)
        await request_clock_refresh(session, incident.id, now)
        duties = services.templates.render(
            "role_duties.md.j2",
            role_title=spec.title,
            incident_id=incident.id,
            title=incident.title,
            room_link=Mrkdwn(blocks.channel_link(incident.channel_id or "")),
            description=spec.description,
            duties=list(spec.duties),
        )
        await request_message(session, user, duties, [blocks.section(duties)], now)
    return Done(f"{blocks.user_mention(user)} is now {spec.title} of incident #{incident_id}.")


async def change_severity(
    services: IncidentPorts, incident_id: int, severity: str, actor: str, now: datetime
) -> Done:
    async with services.db.begin() as session:
        incident = await _locked(session, incident_id)
        before = incident.severity
        if before == severity:
            return Done(f"Incident #{incident_id} is already {severity}.")
        await set_severity(
            session,
            incident,
            severity,
            services.settings.escalation.get(severity),
            _entry(
                EventKind.SEVERITY_CHANGED,
                f"Severity {before} → {severity}",
                actor,
                now,
                before=before,
                after=severity,
            ),
            now,
        )
        text = services.templates.render(
            "severity_change.md.j2",
            emoji=SEVERITY_EMOJI.get(severity, ""),
            incident_id=incident.id,
            before=before,
            after=severity,
            actor_mention=_mention(actor),
        )
        await request_room_message(session, incident, text, now)
        await request_topic(session, services.templates, incident, now)
        await request_clock_refresh(session, incident.id, now)
    return Done(f"Incident #{incident_id} is now {severity}.")


async def post_update(
    services: IncidentPorts, incident_id: int, text: str, actor: str, now: datetime
) -> Done:
    async with services.db.begin() as session:
        incident = await _locked(session, incident_id)
        incident.last_update_at = now
        incident.updated_at = now
        await record(session, incident.id, _entry(EventKind.STATUS_UPDATE, text, actor, now), now)
        said = services.templates.render(
            "status_update.md.j2",
            actor_mention=_mention(actor),
            state=incident.state,
            severity=incident.severity,
            text=text,
        )
        await request_room_message(session, incident, said, now)
        await request_clock_refresh(session, incident.id, now)
    return Done(f"Update posted to incident #{incident_id}; the update clock starts again.")


async def add_note(
    services: IncidentPorts, incident_id: int, text: str, actor: str, now: datetime
) -> Done:
    async with services.db.begin() as session:
        incident = await _locked(session, incident_id)
        await record(session, incident.id, _entry(EventKind.NOTE, text, actor, now), now)
    return Done(f"Noted on incident #{incident_id}'s timeline.")
