"""The export as a document: the JSON schema `warroom.timeline/1` (docs/export-schema.md),
which the Markdown and HTML exports present. Pure: time zone in, no clock read."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.exports.records import (
    AlertRow,
    ChecklistRow,
    CommandRow,
    DraftRow,
    EventRow,
    ExportHeader,
    IncidentFacts,
)

SCHEMA = "warroom.timeline/1"
Doc = dict[str, Any]


def utc_text(moment: datetime | None) -> str | None:
    """`2026-03-02T03:12:05Z`: ISO 8601 in UTC, to the second."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_text(moment: datetime | None, zone: tzinfo) -> str | None:
    """`2026-03-02T04:12:05+01:00`: ISO 8601 in the configured zone, with its offset."""
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def _both(moment: datetime | None, zone: tzinfo) -> dict[str, str | None] | None:
    return None if moment is None else {"utc": utc_text(moment), "local": local_text(moment, zone)}


def _seconds(later: datetime | None, start: datetime) -> int | None:
    return None if later is None else int((later - start).total_seconds())


def _commander_at(header: ExportHeader) -> datetime | None:
    return next((r.assigned_at for r in header.roles if r.role == "commander"), None)


def durations(header: ExportHeader) -> dict[str, int | None]:
    """Whole seconds from declaration, as bot/core/stats.py defines MTTA, MTTR and time to IC."""
    facts = header.incident
    return {
        "mtta_seconds": _seconds(facts.acknowledged_at, facts.created_at),
        "time_to_ic_seconds": _seconds(_commander_at(header), facts.created_at),
        "time_to_mitigate_seconds": _seconds(facts.mitigated_at, facts.created_at),
        "mttr_seconds": _seconds(facts.resolved_at, facts.created_at),
    }


def _incident(facts: IncidentFacts) -> Doc:
    return {
        "id": facts.id,
        "title": facts.title,
        "severity": facts.severity,
        "state": facts.state,
        "is_drill": facts.is_drill,
        "during_maintenance": facts.during_maintenance,
        "declared_by": facts.declared_by,
        "channel_id": facts.channel_id,
        "channel_name": facts.channel_name,
        "acknowledged_by": facts.acknowledged_by,
        "mitigated_by": facts.mitigated_by,
        "resolved_by": facts.resolved_by,
        "resolution": facts.resolution,
    }


def _times(header: ExportHeader, zone: tzinfo, zone_name: str) -> Doc:
    facts = header.incident
    return {
        "timezone": zone_name,
        "created": _both(facts.created_at, zone),
        "acknowledged": _both(facts.acknowledged_at, zone),
        "commander_assigned": _both(_commander_at(header), zone),
        "mitigated": _both(facts.mitigated_at, zone),
        "resolved": _both(facts.resolved_at, zone),
        "last_status_update": _both(facts.last_update_at, zone),
    }


def _with_utc_times(row: Any) -> Doc:
    """A row as a dict, every datetime as UTC text."""
    return {
        key: utc_text(value) if isinstance(value, datetime) else value
        for key, value in asdict(row).items()
    }


def _alert(alert: AlertRow) -> Doc:
    return _with_utc_times(alert)


def _checklist_item(item: ChecklistRow) -> Doc:
    return {
        "position": item.position,
        "text": item.text,
        "done": item.done_at is not None,
        "done_at": utc_text(item.done_at),
        "done_by": item.done_by,
    }


def _draft(draft: DraftRow) -> Doc:
    return _with_utc_times(draft)


def _command(command: CommandRow) -> Doc:
    return _with_utc_times(command)


def event_document(event: EventRow, zone: tzinfo) -> Doc:
    return {
        "id": event.id,
        "time_utc": utc_text(event.occurred_at),
        "time_local": local_text(event.occurred_at, zone),
        "kind": event.kind,
        "actor": event.actor,
        "source": event.source,
        "text": event.text,
        "data": event.data,
    }


def header_document(header: ExportHeader, zone: tzinfo, zone_name: str) -> Doc:
    """Everything but the events, in the schema's key order."""
    return {
        "schema": SCHEMA,
        "incident": _incident(header.incident),
        "times": _times(header, zone, zone_name),
        "durations": durations(header),
        "roles": [_with_utc_times(role) for role in header.roles],
        "alerts": [_alert(alert) for alert in header.alerts],
        "checklist": [_checklist_item(item) for item in header.checklist],
        "status_updates": [event_document(e, zone) for e in header.status_updates],
        "status_drafts": [_draft(draft) for draft in header.status_drafts],
        "commands": [_command(command) for command in header.commands],
        "clock_breaches": [event_document(e, zone) for e in header.clock_breaches],
    }


def human_seconds(seconds: int | None) -> str:
    """`45s`, `2m 05s`, `1h 03m`, `2d 3h` — for people; `—` when it has not happened."""
    if seconds is None:
        return "—"
    delta = timedelta(seconds=max(seconds, 0))
    days, rest = delta.days, delta.seconds
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
