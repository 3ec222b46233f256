"""Tickets through the configured webhook (`ALERT_JIRA_ENDPOINT`-style, Jira project OPS).

The clock's ticket step queues `ticket.create` in its transaction; resolving the incident
queues `ticket.resolve`. The outbox worker POSTs them (retrying 5xx, timeouts and 429 as it
does for Slack) with an `Idempotency-Key`, so a retry never opens a second ticket. The
ticket carries what the playbook asks: queue, alert payload, first responder and the
expected resolution time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import drill
from bot.core.timeline import EventKind
from bot.db.incidents import record
from bot.db.models import Alert, AlertGroup, Incident, OutboxMessage
from bot.db.outbox import Job, enqueue
from bot.outbox.requests import request_room_message
from bot.outbox.worker import After, OpContext
from bot.runtime.services import Services
from bot.slack.gateway import SlackFailure
from bot.war_room.opening import entry

log = logging.getLogger(__name__)
TICKET_CREATE = "ticket.create"
TICKET_RESOLVE = "ticket.resolve"
ALERTS_IN_TICKET = 20


async def request_ticket(
    session: AsyncSession, services: Services, incident: Incident, now: datetime
) -> bool:
    """Queue the incident's ticket; False (and a timeline line) when no webhook is set or
    the incident is a drill (the room is told so, marked DRILL)."""
    tickets = services.settings.tickets
    if not drill.may_reach(incident.is_drill, drill.Outside.TICKET):
        await _withheld(session, services, incident, drill.ticket(), now, tell_room=True)
        return False
    if not tickets.url:
        await record(
            session,
            incident.id,
            entry(
                EventKind.TICKET,
                "No ticket opened: no ticket webhook configured (tickets.url)",
                {"skipped": True},
                services,
            ),
            now,
        )
        return False
    payload = await ticket_fields(session, services, incident)
    await enqueue(
        session,
        method=TICKET_CREATE,
        payload=payload,
        ordering_key=f"ticket:{incident.id}",
        incident_id=incident.id,
        now=now,
        dedup_key=f"ticket:create:{incident.id}",
    )
    return True


async def request_ticket_resolution(
    session: AsyncSession, services: Services, incident: Incident, now: datetime
) -> None:
    """Tell the ticket the incident is resolved, with its cause, if a ticket was asked for."""
    asked = await session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.incident_id == incident.id, OutboxMessage.method == TICKET_CREATE
        )
    )
    if asked is None or not services.settings.tickets.url:
        return
    if not drill.may_reach(incident.is_drill, drill.Outside.TICKET):
        await _withheld(session, services, incident, drill.ticket_resolution(), now)
        return
    await enqueue(
        session,
        method=TICKET_RESOLVE,
        payload={
            "event": "resolved",
            "project": services.settings.tickets.project,
            "incident_id": incident.id,
            "resolved_at": now.isoformat(),
            "resolved_by": incident.resolved_by,
            "resolution": incident.resolution or "",
        },
        ordering_key=f"ticket:{incident.id}",
        incident_id=incident.id,
        now=now,
    )


async def ticket_fields(
    session: AsyncSession, services: Services, incident: Incident
) -> dict[str, Any]:
    tickets = services.settings.tickets
    # The incident's own groups name its queue (its key may be the shared "queues" one).
    groups = (
        await session.scalars(
            select(AlertGroup).where(AlertGroup.incident_id == incident.id).order_by(AlertGroup.id)
        )
    ).all()
    queue = next((g.queue for g in groups if g.queue), None)
    alerts = (
        await session.scalars(
            select(Alert).where(Alert.incident_id == incident.id).limit(ALERTS_IN_TICKET)
        )
    ).all()
    return {
        "event": "created",
        "project": tickets.project,
        "incident_id": incident.id,
        "summary": f"[{incident.severity}] {incident.title}",
        "severity": incident.severity,
        "queue": queue,
        "first_responder": incident.acknowledged_by or incident.declared_by,
        "opened_at": incident.created_at.isoformat(),
        "expected_resolution_at": (incident.created_at + tickets.expected_resolution).isoformat(),
        "war_room": incident.channel_name,
        "alerts": [
            {
                "source": a.source,
                "status": a.status,
                "severity": a.severity,
                "summary": a.summary,
                "description": a.description,
                "labels": a.labels,
            }
            for a in alerts
        ],
    }


async def _withheld(
    session: AsyncSession,
    services: Services,
    incident: Incident,
    withheld: drill.Withheld,
    now: datetime,
    *,
    tell_room: bool = False,
) -> None:
    """A drill's ticket: the timeline line instead of the webhook call (and the room's)."""
    data = {"drill": True, "skipped": True}
    await record(
        session, incident.id, entry(EventKind.TICKET, withheld.timeline, data, services), now
    )
    if tell_room:
        await request_room_message(session, incident, withheld.notice, now)


async def send_ticket(ctx: OpContext, job: Job) -> After | None:
    """POST one ticket row to the webhook; failures are worker failures (retried or kept).
    A row of an incident that is (now) a drill is never sent: it only leaves its line."""
    if await _is_drill(ctx.services, job.incident_id):
        return _drill_instead(ctx.services, job)
    tickets = ctx.services.settings.tickets
    if not tickets.url:
        raise SlackFailure(job.method, "ticket_webhook_not_configured")
    status, data = await _post(tickets.url, job, tickets.timeout.total_seconds())
    incident_id = job.incident_id
    if incident_id is None:
        return None
    key = str(data.get("key") or data.get("id") or "") if isinstance(data, dict) else ""

    async def after(session: AsyncSession) -> dict[str, Any]:
        await _recorded(ctx.services, session, job, incident_id, key[:64])
        return {"status": status, "key": key[:64]}

    return after


async def _is_drill(services: Services, incident_id: int | None) -> bool:
    if incident_id is None:
        return False
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        return incident is not None and not drill.may_reach(incident.is_drill, drill.Outside.TICKET)


def _drill_instead(services: Services, job: Job) -> After:
    withheld = drill.ticket_resolution() if job.method == TICKET_RESOLVE else drill.ticket()

    async def after(session: AsyncSession) -> dict[str, Any]:
        incident = await session.get(Incident, job.incident_id)
        if incident is not None:
            await _withheld(
                session, services, incident, withheld, services.clock.now(),
                tell_room=job.method == TICKET_CREATE,
            )  # fmt: skip
        return {"drill": True}

    return after


async def _post(url: str, job: Job, seconds: float) -> tuple[int, Any]:
    headers = {"Idempotency-Key": f"warroom-{job.method}-{job.id}"}
    try:
        async with httpx.AsyncClient(
            timeout=seconds, follow_redirects=False, trust_env=False
        ) as client:
            response = await client.post(url, json=job.payload, headers=headers)
    except httpx.TimeoutException as exc:
        raise SlackFailure(job.method, "timeout") from exc
    except httpx.HTTPError as exc:
        raise SlackFailure(job.method, "connection_error") from exc
    if response.status_code >= 300:
        retry_after = _seconds(response.headers.get("Retry-After"))
        code = "redirect_refused" if response.status_code < 400 else "webhook_refused"
        raise SlackFailure(job.method, code, status=response.status_code, retry_after=retry_after)
    try:
        return response.status_code, response.json() if response.content else {}
    except ValueError:
        return response.status_code, {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def _recorded(
    services: Services, session: AsyncSession, job: Job, incident_id: int, key: str
) -> None:
    now = services.clock.now()
    resolving = job.method == TICKET_RESOLVE
    name = f"ticket {key}" if key else "a ticket"
    text = (
        f"Marked {name} resolved in {services.settings.tickets.project}"
        if resolving
        else f"Opened {name} in {services.settings.tickets.project}"
    )
    await record(session, incident_id, entry(EventKind.TICKET, text, {"key": key}, services), now)
    if not resolving:
        incident = await session.get(Incident, incident_id)
        if incident is not None:
            await request_room_message(session, incident, f":ticket: {text}.", now)


async def ticket_refused(ctx: OpContext, job: Job, exc: SlackFailure) -> None:
    """A ticket the webhook refused for good goes on the timeline with what to check."""
    if job.incident_id is None:
        return
    services = ctx.services
    status = f"HTTP {exc.status}" if exc.status else exc.code
    async with services.db.begin() as session:
        await record(
            session,
            job.incident_id,
            entry(
                EventKind.TICKET,
                f"The ticket webhook refused {job.method} ({status}); check tickets.url "
                "and open the ticket by hand",
                {"error": exc.code, "status": exc.status, "outbox_id": job.id},
                services,
            ),
            services.clock.now(),
        )
