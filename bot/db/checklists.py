"""An incident's post-incident checklist: written once on resolve, ticked by people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ChecklistItem


async def checklist_items(session: AsyncSession, incident_id: int) -> list[ChecklistItem]:
    found = await session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.incident_id == incident_id)
        .order_by(ChecklistItem.position)
    )
    return list(found.all())


async def write_checklist(session: AsyncSession, incident_id: int, texts: Sequence[str]) -> bool:
    """The checklist, unless the incident has one (a reopened, re-resolved incident keeps
    its ticks); True when written now."""
    if await checklist_items(session, incident_id):
        return False
    for position, text in enumerate(texts):
        session.add(ChecklistItem(incident_id=incident_id, position=position, text=text))
    await session.flush()
    return True


async def set_done(
    session: AsyncSession, incident_id: int, done: set[int], user: str, now: datetime
) -> tuple[list[ChecklistItem], list[tuple[ChecklistItem, bool]]]:
    """Tick exactly the items at positions `done` (Slack sends the whole selection); all
    items, and the ones that changed with whether they are now done."""
    items = await checklist_items(session, incident_id)
    changed: list[tuple[ChecklistItem, bool]] = []
    for item in items:
        if item.position in done and item.done_at is None:
            item.done_at, item.done_by = now, user
            changed.append((item, True))
        elif item.position not in done and item.done_at is not None:
            item.done_at = item.done_by = None
            changed.append((item, False))
    return items, changed
