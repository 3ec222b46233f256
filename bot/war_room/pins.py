""":pushpin: on any message in a war room puts it on the timeline (its text, author and
original time); removing the reaction takes it out; pinning it twice changes nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot.core.timeline import EventKind, TimelineEntry
from bot.db.incidents import incident_for_channel, record_once, remove_event
from bot.runtime.ports import WarRoomPorts
from bot.slack.gateway import SlackFailure

log = logging.getLogger(__name__)

PIN_REACTIONS = frozenset({"pushpin", "round_pushpin"})
MAX_PINNED_TEXT = 4000


def pin_key(channel: str, ts: str) -> str:
    return f"pin:{channel}:{ts}"


def message_time(ts: str, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return fallback


async def _message(services: WarRoomPorts, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts`: a channel message, else a thread reply."""
    data = await services.slack.call(
        "conversations.history", channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    found = [m for m in data.get("messages", []) if m.get("ts") == ts]
    if not found:
        data = await services.slack.call("conversations.replies", channel=channel, ts=ts, limit=200)
        found = [m for m in data.get("messages", []) if m.get("ts") == ts]
    return dict(found[0]) if found else None


async def pinned(services: WarRoomPorts, channel: str, ts: str, by: str) -> bool:
    """Record the message; False when the channel is no war room or the message is gone."""
    async with services.db.begin() as session:
        incident = await incident_for_channel(session, channel)
    if incident is None:
        return False
    try:
        message = await _message(services, channel, ts)
    except SlackFailure as exc:
        log.warning("pinned message not readable", extra={"error": exc.code})
        message = None
    if message is None:
        return False
    now = services.clock.now()
    pin = TimelineEntry(
        kind=EventKind.PINNED,
        occurred_at=message_time(ts, now),
        actor=str(message.get("user") or message.get("bot_id") or "")[:64] or None,
        source="slack",
        text=str(message.get("text") or "")[:MAX_PINNED_TEXT],
        data={"channel": channel, "ts": ts, "pinned_by": by},
    )
    async with services.db.begin() as session:
        await record_once(session, incident.id, pin, now, pin_key(channel, ts))
    return True


async def unpinned(services: WarRoomPorts, channel: str, ts: str) -> None:
    async with services.db.begin() as session:
        incident = await incident_for_channel(session, channel)
        if incident is None:
            return
        await remove_event(session, incident.id, pin_key(channel, ts))
