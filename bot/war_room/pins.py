""":pushpin: on any message in a war room puts it on the timeline (its text, author and
original time); removing the reaction takes it out; pinning it twice changes nothing."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete

from bot.core.timeline import EventKind
from bot.db.engine import dialect_insert
from bot.db.incidents import incident_for_channel
from bot.db.models import TimelineEvent
from bot.runtime.services import Services
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


@functools.cache
def _insert_once(dialect: str) -> Any:
    insert = dialect_insert(dialect)
    table: Table = TimelineEvent.__table__  # type: ignore[assignment]
    return insert(table).on_conflict_do_nothing(index_elements=["incident_id", "dedup_key"])


async def _message(services: Services, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts`: a channel message, else a thread reply."""
    data = await services.slack.call(
        "conversations.history", channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    found = [m for m in data.get("messages", []) if m.get("ts") == ts]
    if not found:
        data = await services.slack.call("conversations.replies", channel=channel, ts=ts, limit=200)
        found = [m for m in data.get("messages", []) if m.get("ts") == ts]
    return dict(found[0]) if found else None


async def pinned(services: Services, channel: str, ts: str, by: str) -> bool:
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
    row = {
        "incident_id": incident.id,
        "occurred_at": message_time(ts, now),
        "recorded_at": now,
        "kind": EventKind.PINNED.value,
        "actor": str(message.get("user") or message.get("bot_id") or "")[:64] or None,
        "source": "slack",
        "text": str(message.get("text") or "")[:MAX_PINNED_TEXT],
        "data": {"channel": channel, "ts": ts, "pinned_by": by},
        "dedup_key": pin_key(channel, ts),
    }
    async with services.db.begin() as session:
        await session.execute(_insert_once(session.get_bind().dialect.name), row)
    return True


async def unpinned(services: Services, channel: str, ts: str) -> None:
    async with services.db.begin() as session:
        incident = await incident_for_channel(session, channel)
        if incident is None:
            return
        await session.execute(
            delete(TimelineEvent).where(
                TimelineEvent.incident_id == incident.id,
                TimelineEvent.dedup_key == pin_key(channel, ts),
            )
        )
