"""One export, three ways out: `export_chunks` is what `/incident export`, `warroom export`
and `GET /incidents/{id}/timeline` all send, so they send the same bytes.

The export is a function of the database and the settings only (no "generated at"), read
as a header plus a stream of events and written as it is read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.config.settings import Settings
from bot.exports.csv_export import csv_chunks
from bot.exports.document import Doc, event_document, header_document
from bot.exports.formats import ExportFormat, parse_format
from bot.exports.json_export import json_chunks
from bot.exports.loading import BATCH_SIZE, load_header, timeline_events
from bot.exports.template_export import html_chunks, markdown_chunks

CHUNK_BYTES = 64 * 1024


def render(
    fmt: ExportFormat, head: Doc, events: AsyncIterable[Doc], templates_dir: str | None
) -> AsyncIterator[str]:
    """The pure core: a header and a stream of events in, a stream of text out."""
    if fmt is ExportFormat.JSON:
        return json_chunks(head, events)
    if fmt is ExportFormat.CSV:
        return csv_chunks(events)
    if fmt is ExportFormat.HTML:
        return html_chunks(templates_dir, head, events)
    return markdown_chunks(templates_dir, head, events)


async def _utf8(parts: AsyncIterable[str], size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """Text as UTF-8 in chunks of about `size` bytes (not one tiny write per event)."""
    pending: list[bytes] = []
    held = 0
    async for part in parts:
        data = part.encode("utf-8", "replace")
        pending.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


async def export_chunks(
    sessions: async_sessionmaker[Any],
    incident_id: int,
    fmt: ExportFormat | str,
    settings: Settings,
    *,
    batch_size: int = BATCH_SIZE,
) -> AsyncGenerator[bytes, None]:
    """The export of incident `incident_id` as UTF-8 chunks. The first chunk comes only
    after the incident is found, so `UnknownFormat` / `UnknownIncident` (and a database
    that is down) raise before anything is sent."""
    chosen = parse_format(fmt)
    zone = ZoneInfo(settings.timezone)
    titles = {name: spec.title for name, spec in settings.roles.items()}
    async with sessions.begin() as session:
        header = await load_header(session, incident_id, titles)
    head = header_document(header, zone, settings.timezone)
    events = (
        event_document(event, zone)
        async for event in timeline_events(sessions, incident_id, batch_size)
    )
    async for chunk in _utf8(render(chosen, head, events, settings.templates_dir)):
        yield chunk


async def export_bytes(
    sessions: async_sessionmaker[Any], incident_id: int, fmt: ExportFormat | str, settings: Settings
) -> bytes:
    """The whole export in memory — for a Slack upload, which needs its length up front."""
    return b"".join([chunk async for chunk in export_chunks(sessions, incident_id, fmt, settings)])
