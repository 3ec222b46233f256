"""What an export is made of, as plain values read from the database. Pure.

The header (incident, roles, alerts, checklist, drafts, commands, status updates, clock
breaches) is small and read up front; the events are read and written one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IncidentFacts:
    id: int
    title: str
    severity: str
    state: str
    is_drill: bool
    during_maintenance: bool
    declared_by: str | None
    channel_id: str | None
    channel_name: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    mitigated_at: datetime | None
    mitigated_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    last_update_at: datetime | None


@dataclass(frozen=True)
class RoleRow:
    role: str
    title: str
    user_id: str
    assigned_by: str | None
    assigned_at: datetime


@dataclass(frozen=True)
class AlertRow:
    id: int
    source: str
    status: str
    severity: str
    summary: str
    description: str
    labels: dict[str, Any]
    starts_at: datetime | None
    ends_at: datetime | None
    received_at: datetime


@dataclass(frozen=True)
class ChecklistRow:
    position: int
    text: str
    done_at: datetime | None
    done_by: str | None


@dataclass(frozen=True)
class DraftRow:
    version: int
    status: str
    impact: str
    name: str
    body: str
    components: dict[str, Any]
    state: str
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    published_at: datetime | None


@dataclass(frozen=True)
class CommandRow:
    at: datetime
    actor: str
    command: str
    args: str
    decision: str
    backend_request: str | None
    status: int | None
    duration_ms: int | None
    outcome: str


@dataclass(frozen=True)
class EventRow:
    id: int
    occurred_at: datetime
    kind: str
    actor: str | None
    source: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ExportHeader:
    incident: IncidentFacts
    roles: list[RoleRow]
    alerts: list[AlertRow]
    checklist: list[ChecklistRow]
    status_updates: list[EventRow]
    status_drafts: list[DraftRow]
    commands: list[CommandRow]
    clock_breaches: list[EventRow]
