"""Reading what the bot stored, straight from the database, for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.db.engine import create_engine
from bot.db.models import Incident, TimelineEvent


async def rows(database_url: str, statement: Any) -> list[Any]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(statement)).all())
    finally:
        await engine.dispose()


async def incidents(database_url: str) -> list[Any]:
    return await rows(database_url, select(Incident.__table__).order_by(Incident.id))


async def timeline(database_url: str, incident_id: int) -> list[Any]:
    return await rows(
        database_url,
        select(TimelineEvent.__table__)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id),
    )
