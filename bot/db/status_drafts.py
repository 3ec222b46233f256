"""Status-page drafts: every version of an incident's draft is a row, numbered 1, 2, …"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import StatusDraft


async def next_draft_version(session: AsyncSession, incident_id: int) -> int:
    """The number the incident's next draft version takes (1 for its first)."""
    latest = await session.scalar(
        select(func.max(StatusDraft.version)).where(StatusDraft.incident_id == incident_id)
    )
    return (latest or 0) + 1


async def lock_draft(session: AsyncSession, draft_id: int) -> StatusDraft | None:
    """The draft, its row locked for this transaction and read afresh (None if unknown)."""
    return await session.get(StatusDraft, draft_id, with_for_update=True, populate_existing=True)


async def statuspage_incident_of(session: AsyncSession, incident_id: int) -> str | None:
    """The Statuspage incident an earlier published draft of the incident created (its
    newest), if any: later drafts update it instead of creating another."""
    return await session.scalar(
        select(StatusDraft.statuspage_incident_id)
        .where(
            StatusDraft.incident_id == incident_id,
            StatusDraft.statuspage_incident_id.is_not(None),
        )
        .order_by(StatusDraft.version.desc())
        .limit(1)
    )
