"""Timeline events as typed values; the database stores them, exports read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    DECLARED = "incident.declared"
    WAR_ROOM_OPENED = "war_room.opened"
    WAR_ROOM_FAILED = "war_room.failed"
    ANNOUNCED = "war_room.announced"
    MEMBERS_INVITED = "war_room.invited"
    MESSAGE_POSTED = "slack.message_posted"
    COMMAND = "command"
    ALERT_FIRED = "alert.fired"
    ALERT_RESOLVED = "alert.resolved"
    GROUP_JOINED = "alert.group_joined"
    PROMOTED = "alert.promoted"
    RESOLUTION_SUGGESTED = "incident.resolution_suggested"
    STATE_CHANGED = "incident.state_changed"
    ROLE_ASSIGNED = "incident.role_assigned"
    SEVERITY_CHANGED = "incident.severity_changed"
    STATUS_UPDATE = "incident.status_update"
    NOTE = "note"
    PINNED = "pinned"
    CLOCK_STEP = "clock.step"
    CLOCK_BREACH = "clock.breach"
    TICKET = "ticket"
    BACKEND_CALL = "backend.call"
    STATUS_DRAFT = "status.draft"
    CHECKLIST = "checklist"


@dataclass(frozen=True)
class TimelineEntry:
    kind: EventKind
    occurred_at: datetime
    text: str
    actor: str | None = None
    source: str = "bot"
    data: dict[str, Any] = field(default_factory=dict)
