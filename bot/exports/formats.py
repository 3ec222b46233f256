"""The four export formats, their media types and file names, and the export errors."""

from __future__ import annotations

from enum import StrEnum

from bot.errors import WarroomError


class ExportFormat(StrEnum):
    MD = "md"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


CONTENT_TYPES: dict[ExportFormat, str] = {
    ExportFormat.MD: "text/markdown; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.HTML: "text/html; charset=utf-8",
}
FORMAT_NAMES = ", ".join(f.value for f in ExportFormat)


class ExportError(WarroomError):
    """An export cannot be made; the message says why, for a person."""


class UnknownFormat(ExportError):
    def __init__(self, given: str) -> None:
        self.given = given
        super().__init__(f"`{given}` is not an export format — use one of {FORMAT_NAMES}")


class UnknownIncident(ExportError):
    def __init__(self, incident_id: int) -> None:
        self.incident_id = incident_id
        super().__init__(f"there is no incident #{incident_id} — check the number")


def parse_format(text: str) -> ExportFormat:
    try:
        return ExportFormat(text.strip().lower())
    except ValueError:
        raise UnknownFormat(text) from None


def export_filename(incident_id: int, fmt: ExportFormat) -> str:
    return f"incident-{incident_id}-timeline.{fmt.value}"
