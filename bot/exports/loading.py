"""Reading an export from the database: the header in one short transaction, then the
timeline events in keyset-paged batches.

Each batch is its own short transaction and is fully read before its events are handed on,
so a slow reader (a download over a thin line) never holds a transaction open — on SQLite
every transaction takes the write lock (see bot/db/engine.py) — and memory holds at most
one batch, however long the timeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.timeline import EventKind
from bot.db.checklists import checklist_items
from bot.db.models import (
    Alert,
    AuditRecord,
    Incident,
    RoleAssignment,
    StatusDraft,
    TimelineEvent,
)
from bot.exports.formats import UnknownIncident
from bot.exports.records import (
    AlertRow,
    ChecklistRow,
    CommandRow,
    DraftRow,
    EventRow,
    ExportHeader,
    IncidentFacts,
    RoleRow,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
BATCH_SIZE = 500
EVENT_COLUMNS = (
    TimelineEvent.id,
    TimelineEvent.occurred_at,
    TimelineEvent.kind,
    TimelineEvent.actor,
    TimelineEvent.source,
    TimelineEvent.text,
    TimelineEvent.data,
)


def _copy(cls: type[T], row: object, **given: Any) -> T:
    """A record from an ORM row, field by field (the names are the columns')."""
    names = [f.name for f in fields(cls) if f.name not in given]
    return cls(**{name: getattr(row, name) for name in names}, **given)


def _event(row: Any) -> EventRow:
    event_id, occurred_at, kind, actor, source, text, data = row
    return EventRow(event_id, occurred_at, kind, actor, source, text or "", dict(data or {}))


async def _events_of_kind(
    session: AsyncSession, incident_id: int, kind: EventKind
) -> list[EventRow]:
    rows = await session.execute(
        select(*EVENT_COLUMNS)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.kind == kind.value)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    )
    return [_event(row) for row in rows]


async def _roles(
    session: AsyncSession, incident_id: int, titles: Mapping[str, str]
) -> list[RoleRow]:
    found = await session.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.incident_id == incident_id)
        .order_by(RoleAssignment.assigned_at, RoleAssignment.id)
    )
    return [_copy(RoleRow, r, title=titles.get(r.role) or r.role) for r in found]


async def _alerts(session: AsyncSession, incident_id: int) -> list[AlertRow]:
    found = await session.scalars(
        select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.received_at, Alert.id)
    )
    return [_copy(AlertRow, a) for a in found]


async def _drafts(session: AsyncSession, incident_id: int) -> list[DraftRow]:
    found = await session.scalars(
        select(StatusDraft)
        .where(StatusDraft.incident_id == incident_id)
        .order_by(StatusDraft.version)
    )
    return [_copy(DraftRow, d) for d in found]


async def _commands(session: AsyncSession, incident_id: int) -> list[CommandRow]:
    found = await session.scalars(
        select(AuditRecord)
        .where(AuditRecord.incident_id == incident_id)
        .order_by(AuditRecord.at, AuditRecord.id)
    )
    return [_copy(CommandRow, c) for c in found]


async def load_header(
    session: AsyncSession, incident_id: int, role_titles: Mapping[str, str]
) -> ExportHeader:
    """Everything but the timeline events; `UnknownIncident` when there is no such incident."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise UnknownIncident(incident_id)
    checklist = await checklist_items(session, incident_id)
    return ExportHeader(
        incident=_copy(IncidentFacts, incident),
        roles=await _roles(session, incident_id, role_titles),
        alerts=await _alerts(session, incident_id),
        checklist=[_copy(ChecklistRow, item) for item in checklist],
        status_updates=await _events_of_kind(session, incident_id, EventKind.STATUS_UPDATE),
        status_drafts=await _drafts(session, incident_id),
        commands=await _commands(session, incident_id),
        clock_breaches=await _events_of_kind(session, incident_id, EventKind.CLOCK_BREACH),
    )


async def _batch(
    sessions: async_sessionmaker[Any],
    incident_id: int,
    after: tuple[datetime, int] | None,
    size: int,
) -> list[EventRow]:
    query = (
        select(*EVENT_COLUMNS)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
        .limit(size)
    )
    if after is not None:
        at, last_id = after
        # A row-value comparison, so PostgreSQL seeks the index instead of filtering every
        # earlier event of the incident page after page (SQLite does row values too).
        query = query.where(
            tuple_(TimelineEvent.occurred_at, TimelineEvent.id)
            > tuple_(literal(at, TimelineEvent.occurred_at.type), literal(last_id))
        )
    async with sessions.begin() as session:
        return [_event(row) for row in await session.execute(query)]


async def timeline_events(
    sessions: async_sessionmaker[Any], incident_id: int, batch_size: int = BATCH_SIZE
) -> AsyncIterator[EventRow]:
    """Every event of the incident in (occurred_at, id) order, `batch_size` at a time."""
    after: tuple[datetime, int] | None = None
    while True:
        batch = await _batch(sessions, incident_id, after, batch_size)
        for event in batch:
            yield event
        if len(batch) < batch_size:
            return
        after = (batch[-1].occurred_at, batch[-1].id)
