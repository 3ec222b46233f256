"""A flow's ports without the app: the escalation clock's (database, settings, clock,
templates, metrics), and an incident declared through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.settings import Settings
from bot.db.engine import read_session_factory, session_factory
from bot.db.incidents import create_incident
from bot.db.unit_of_work import UnitOfWork
from bot.infra.metrics import Metrics
from bot.infra.templates import Templates
from bot.infra.time_source import ManualClock
from bot.runtime.ports import EscalationPorts
from bot.war_room.declare import declare_incident

T0 = datetime(2026, 12, 5, 3, 12, tzinfo=UTC)


@dataclass(frozen=True)
class ClockPorts:
    """Exactly what EscalationPorts names; mypy checks it satisfies the protocol."""

    db: UnitOfWork
    settings: Settings
    clock: ManualClock
    templates: Templates
    metrics: Metrics


def ports_for(engine: AsyncEngine) -> ClockPorts:
    settings = Settings()
    return ClockPorts(
        db=UnitOfWork(session_factory(engine), reads=read_session_factory(engine)),
        settings=settings,
        clock=ManualClock(T0),
        templates=Templates(settings.templates_dir),
        metrics=Metrics(),
    )


async def declared(ports: EscalationPorts) -> int:
    now = ports.clock.now()
    async with ports.db.begin() as session:
        incident = await create_incident(
            session, title="WhatsApp sends failing", severity="critical", declared_by=None, now=now
        )
        await declare_incident(
            session,
            incident,
            text="critical incident declared: WhatsApp sends failing",
            data={},
            actor=None,
            source="test",
            invitees=[],
            policy=ports.settings.escalation.get("critical"),
            now=now,
        )
        return incident.id
