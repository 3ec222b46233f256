"""One progress line per timeline event worth telling a drill's audience. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.timeline import EventKind

MAX_LINE = 200


def _by(actor: str | None) -> str:
    return f" by {actor}" if actor else ""


def _short(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= MAX_LINE else one_line[: MAX_LINE - 1] + "…"


def describe(kind: str, text: str, actor: str | None, data: Mapping[str, Any]) -> str | None:
    """The line for one event, or None for the bot's own housekeeping."""
    try:
        event = EventKind(kind)
    except ValueError:
        return None
    if event is EventKind.ALERT_FIRED:
        return f"alert fired: {_short(text.removeprefix('Fired: '))}"
    if event is EventKind.ALERT_RESOLVED:
        return f"alert resolved: {_short(text.removeprefix('Resolved: '))}"
    if event is EventKind.WAR_ROOM_OPENED:
        return f"drill room #{data.get('channel_name', '?')} opened"
    if event is EventKind.STATE_CHANGED:
        after = data.get("after", "?")
        return f"{after}{_by(actor)}"
    if event is EventKind.ROLE_ASSIGNED:
        return f"{data.get('role', 'role')}: {data.get('user', '?')}{_by(actor)}"
    if event is EventKind.STATUS_UPDATE:
        return f"status update{_by(actor)}: {_short(text)}"
    if event in (EventKind.CLOCK_BREACH, EventKind.CLOCK_STEP):
        verb = "breached" if event is EventKind.CLOCK_BREACH else "fired"
        return f"escalation step {data.get('step', '?')} {verb}"
    if event in (EventKind.SEVERITY_CHANGED, EventKind.NOTE, EventKind.COMMAND):
        return f"{event.value}{_by(actor)}: {_short(text)}"
    if event is EventKind.MEMBERS_INVITED:
        return _short(text)
    return None
