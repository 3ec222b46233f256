"""A flow runs on the ports its protocol names, without the app: the escalation clock with a
database, settings, a clock, templates and metrics, and no Slack, backends or web server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.timeline import EventKind
from bot.db.incidents import timeline
from bot.db.models import OutboxMessage
from bot.escalation.ticker import clock_tick
from tests.flow_ports import declared, ports_for


async def test_the_clock_fires_an_unacknowledged_incident_with_only_its_ports(
    engine: AsyncEngine,
) -> None:
    ports = ports_for(engine)
    incident_id = await declared(ports)
    assert await clock_tick(ports) == 1  # a critical incident's ticket is due at once
    assert await clock_tick(ports) == 0  # and nothing else yet

    ports.clock.advance(timedelta(minutes=3))  # the critical ack deadline (2 min) has passed
    assert await clock_tick(ports) >= 1

    async with ports.db.read() as session:
        events = await timeline(session, incident_id)
        queued = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.incident_id == incident_id)
        )
    breaches = [e.text for e in events if e.kind == EventKind.CLOCK_BREACH.value]
    assert "Clock: ack (breached)" in breaches
    assert queued is not None and queued > 0  # the reminder is owed to the room
    assert await clock_tick(ports) == 0  # fired once, not again on the next tick
