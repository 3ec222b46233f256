"""Timeline exports — Markdown, JSON, CSV, HTML — for the Incident Commander's post-mortem.

`export_chunks` is the one way an export is made; the CLI (`warroom export`), the HTTP
endpoint (`GET /incidents/{id}/timeline`) and `/incident export` all send its bytes.
"""

from __future__ import annotations

from bot.exports.document import SCHEMA
from bot.exports.formats import (
    CONTENT_TYPES,
    ExportError,
    ExportFormat,
    UnknownFormat,
    UnknownIncident,
    export_filename,
    parse_format,
)
from bot.exports.stream import export_bytes, export_chunks

__all__ = [
    "CONTENT_TYPES",
    "SCHEMA",
    "ExportError",
    "ExportFormat",
    "UnknownFormat",
    "UnknownIncident",
    "export_bytes",
    "export_chunks",
    "export_filename",
    "parse_format",
]
