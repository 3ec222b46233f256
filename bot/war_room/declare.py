"""Declaring an incident: the one transaction both ways in share — a person's
`/incident declare` and an alert group that opens an incident (`bot.alerts.pipeline`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import EscalationPolicy
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.deadlines import plan_clock
from bot.db.incidents import record
from bot.db.models import Incident
from bot.outbox.requests import request_war_room


async def declare_incident(
    session: AsyncSession,
    incident: Incident,
    *,
    text: str,
    data: dict[str, Any],
    actor: str | None,
    source: str,
    invitees: list[str],
    policy: EscalationPolicy | None,
    now: datetime,
) -> None:
    """In the transaction that created `incident`: its DECLARED timeline line (`text`,
    `data`, by `actor` through `source`), its war room queued with `invitees`, and its
    escalation clock planned from `now` (none without a `policy` for its severity)."""
    declared = TimelineEntry(
        kind=EventKind.DECLARED,
        occurred_at=now,
        actor=actor,
        source=source,
        text=text,
        data=data,
    )
    await record(session, incident.id, declared, now)
    await request_war_room(session, incident, now, invitees=invitees)
    await plan_clock(session, incident, policy, now)
