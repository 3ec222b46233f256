"""`GET /incidents/{id}/timeline?format=md|json|csv|html`: the export, streamed.

The alert intake's bearer token is required (401 without it); 400 names a bad `format`,
404 an unknown incident, 503 a database that does not answer. The status is decided
before the first byte is sent; after that, a failure cuts the transfer short.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.exports.formats import (
    CONTENT_TYPES,
    ExportFormat,
    UnknownFormat,
    UnknownIncident,
    export_filename,
    parse_format,
)
from bot.exports.stream import export_chunks
from bot.web.auth import bearer_matches
from bot.web.keys import RUNTIME, SERVICES

log = logging.getLogger(__name__)


def add_export_routes(app: web.Application) -> None:
    app.router.add_get(r"/incidents/{incident_id:\d{1,12}}/timeline", incident_timeline)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _headers(incident_id: int, fmt: ExportFormat) -> dict[str, str]:
    return {
        "Content-Type": CONTENT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="{export_filename(incident_id, fmt)}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


async def incident_timeline(request: web.Request) -> web.StreamResponse:
    if not bearer_matches(request, request.app[RUNTIME].secrets.alert_token):
        return _error(401, "a valid `Authorization: Bearer <WARROOM_ALERT_TOKEN>` is required")
    try:
        fmt = parse_format(request.query.get("format", ExportFormat.MD.value))
    except UnknownFormat as exc:
        return _error(400, f"format: {exc}", field="format")
    incident_id = int(request.match_info["incident_id"])
    services = request.app[SERVICES]
    chunks = export_chunks(services.db.sessions, incident_id, fmt, services.settings)
    try:
        try:
            first = await anext(chunks)
        except UnknownIncident as exc:
            return _error(404, str(exc))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("export failed: database unavailable", extra={"error": repr(exc)})
            return _error(503, "the database is not available — try again shortly")
        response = web.StreamResponse(headers=_headers(incident_id, fmt))
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await chunks.aclose()
