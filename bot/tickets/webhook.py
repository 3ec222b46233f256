"""Tickets through the configured webhook (`ALERT_JIRA_ENDPOINT`-style, Jira project OPS).

The clock's ticket step queues `ticket.create` in its transaction; resolving the incident
queues `ticket.resolve`. The outbox worker POSTs them through the backends port (the
`tickets` backend: one shared client, its timeout and circuit breaker, redirects refused)
with an `Idempotency-Key`, so a retry never opens a second ticket. A failure is a
`TicketError`, which the worker retries (5xx, timeouts, 429 after its Retry-After, an open
breaker) or keeps as refused (4xx, a redirect). The ticket carries what the playbook asks:
queue, alert payload, first responder and the expected resolution time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.backends.client import BackendClient
from bot.backends.errors import BackendError, Kind
from bot.config.settings import TICKETS_BACKEND, TicketSettings
from bot.core import drill
from bot.core.errors import CallFailure
from bot.core.timeline import EventKind
from bot.db.alert_groups import groups_of_incident
from bot.db.alerts import some_alerts_of_incident
from bot.db.incidents import record
from bot.db.models import Incident
from bot.db.outbox import Job, enqueue, was_queued
from bot.outbox.requests import request_room_message
from bot.outbox.worker import After, OpContext
from bot.runtime.ports import TicketPorts
from bot.war_room.opening import entry

log = logging.getLogger(__name__)
TICKET_CREATE = "ticket.create"
TICKET_RESOLVE = "ticket.resolve"
ALERTS_IN_TICKET = 20
# The codes a ticket failure is kept under (the outbox row's error, the timeline's data).
_CODES: dict[Kind, str] = {
    "not_configured": "ticket_webhook_not_configured",
    "circuit_open": "circuit_open",
    "timeout": "timeout",
    "refused": "connection_error",
    "bad_response": "connection_error",  # a garbled answer: sent again
    "server_error": "webhook_refused",
    "rate_limited": "webhook_refused",
    "client_error": "webhook_refused",
    "redirect": "redirect_refused",
    "bad_argument": "bad_argument",
}


class TicketError(CallFailure):
    """The ticket webhook did not take a ticket. `code` (`webhook_refused` with the HTTP
    status, `redirect_refused`, `timeout`, `connection_error`, `circuit_open`…) decides,
    with the status, whether the outbox tries again; the message is the backends port's."""

    @classmethod
    def of(cls, method: str, error: BackendError) -> TicketError:
        code = _CODES.get(error.kind, error.kind)
        return cls(method, code, error.message, status=error.status, retry_after=error.retry_after)


async def request_ticket(
    session: AsyncSession, services: TicketPorts, incident: Incident, now: datetime
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
    session: AsyncSession, services: TicketPorts, incident: Incident, now: datetime
) -> None:
    """Tell the ticket the incident is resolved, with its cause, if a ticket was asked for."""
    asked = await was_queued(session, incident.id, TICKET_CREATE)
    if not asked or not services.settings.tickets.url:
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
    session: AsyncSession, services: TicketPorts, incident: Incident
) -> dict[str, Any]:
    tickets = services.settings.tickets
    # The incident's own groups name its queue (its key may be the shared "queues" one).
    groups = await groups_of_incident(session, incident.id)
    queue = next((g.queue for g in groups if g.queue), None)
    alerts = await some_alerts_of_incident(session, incident.id, ALERTS_IN_TICKET)
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
    services: TicketPorts,
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
        raise TicketError(
            job.method, "ticket_webhook_not_configured", "no ticket webhook (tickets.url)"
        )
    status, data = await _post(ctx.services.backends.get(TICKETS_BACKEND), tickets, job)
    incident_id = job.incident_id
    if incident_id is None:
        return None
    key = str(data.get("key") or data.get("id") or "") if isinstance(data, dict) else ""

    async def after(session: AsyncSession) -> dict[str, Any]:
        await _recorded(ctx.services, session, job, incident_id, key[:64])
        return {"status": status, "key": key[:64]}

    return after


async def _is_drill(services: TicketPorts, incident_id: int | None) -> bool:
    if incident_id is None:
        return False
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        return incident is not None and not drill.may_reach(incident.is_drill, drill.Outside.TICKET)


def _drill_instead(services: TicketPorts, job: Job) -> After:
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


async def _post(backend: BackendClient, tickets: TicketSettings, job: Job) -> tuple[int, Any]:
    """POST the row to the webhook itself (`tickets.url`, its query included); any 2xx body
    will do (a ticket key is read from JSON when there is one)."""
    try:
        response = await backend.request(
            "POST",
            "",
            query=tickets.query(),
            json=job.payload,
            idempotency_key=f"warroom-{job.method}-{job.id}",
            expect_json=False,
        )
    except BackendError as exc:
        raise TicketError.of(job.method, exc) from exc
    return response.status, response.data


async def _recorded(
    services: TicketPorts, session: AsyncSession, job: Job, incident_id: int, key: str
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


async def ticket_refused(ctx: OpContext, job: Job, exc: CallFailure) -> None:
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
