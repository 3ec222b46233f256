"""The clock and an action at the same moment (PostgreSQL, where they truly run at once).

An update posted while its deadline comes due holds the incident's row until it commits. A
tick that read the row without waiting would see the old `last_update_at` and fire a
spurious "no status update". Instead, the step waits for the next tick, which sees the update.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.timeline import EventKind
from bot.db.engine import create_engine
from bot.db.incidents import lock_incident, timeline
from bot.db.models import EscalationDeadline
from bot.escalation.ticker import clock_tick
from tests.databases import empty_database
from tests.flow_ports import ClockPorts, declared, ports_for


@pytest.fixture
async def pg_engine(postgresql_url: str) -> AsyncIterator[AsyncEngine]:
    await empty_database(postgresql_url)
    engine = create_engine(postgresql_url)
    yield engine
    await engine.dispose()


async def update_deadline(ports: ClockPorts, incident_id: int) -> EscalationDeadline:
    async with ports.db.read() as session:
        row = await session.scalar(
            select(EscalationDeadline).where(
                EscalationDeadline.incident_id == incident_id,
                EscalationDeadline.step == "update",
            )
        )
    assert row is not None
    return row


async def test_an_update_in_flight_at_its_deadline_is_not_a_breach(pg_engine: AsyncEngine) -> None:
    ports = ports_for(pg_engine)
    incident_id = await declared(ports)
    await clock_tick(ports)  # what is due at once (the ticket)
    due = (await update_deadline(ports, incident_id)).due_at
    ports.clock.advance(due - ports.clock.now() + timedelta(seconds=1))

    async with ports.db.begin() as session:  # the person's update, not yet committed
        incident = await lock_incident(session, incident_id)
        assert incident is not None
        incident.state = "acknowledged"
        incident.last_update_at = ports.clock.now()
        async with asyncio.timeout(10):  # a tick that waited for the update would hang here
            await clock_tick(ports)  # runs while the update holds the incident
        async with ports.db.read() as reader:
            waiting = await reader.get(
                EscalationDeadline, (await update_deadline(ports, incident_id)).id
            )
            assert waiting is not None and waiting.fired_at is None and waiting.cancelled_at is None

    await clock_tick(ports)  # the next tick sees the committed update
    async with ports.db.read() as session:
        events = await timeline(session, incident_id)
    breaches = [e.text for e in events if e.kind == EventKind.CLOCK_BREACH.value]
    assert "Clock: update (breached)" not in breaches
