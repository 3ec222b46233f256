"""What the core asks Slack for, queued in the caller's transaction (sent by the worker)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.slack_text import TOPIC_LIMIT
from bot.db.models import AlertGroup, Incident
from bot.db.outbox import enqueue
from bot.infra.templates import Templates
from bot.slack.blocks import section

ROOM_CREATE = "room.create"
ROOM_INTRO = "room.intro"
ROOM_INVITE = "room.invite"
ROOM_SUMMARY = "room.summary"
GROUP_POST = "group.post"
ROOM_CLOCK = "room.clock"
ROOM_MESSAGE = "room.message"
CLOCK_DEBOUNCE = timedelta(seconds=1)


def room_key(incident_id: int) -> str:
    """Everything that builds or speaks in one war room goes out in order under this key."""
    return f"room:{incident_id}"


def channel_key(channel: str) -> str:
    return f"channel:{channel.lstrip('#')}"


def channel_ref(name: str) -> str:
    """A configured channel name as chat.postMessage takes it: `#dr-war-room`."""
    return f"#{name.lstrip('#')}"


async def request_war_room(
    session: AsyncSession, incident: Incident, now: datetime, invitees: list[str]
) -> None:
    """Queue the war room; the worker creates it, then queues invite, topic, intro, pin,
    bookmarks and the announcement behind it."""
    incident.room_state = "opening"
    await enqueue(
        session,
        method=ROOM_CREATE,
        payload={"incident_id": incident.id, "invitees": invitees},
        ordering_key=room_key(incident.id),
        incident_id=incident.id,
        now=now,
    )


async def request_room_summary(
    session: AsyncSession, incident_id: int, now: datetime, debounce: timedelta
) -> None:
    """Refresh the room's one alert summary, at most once per `debounce` (storm-proof).
    Its own ordering key: a debounced row must not hold up the room's other steps."""
    await enqueue(
        session,
        method=ROOM_SUMMARY,
        payload={"incident_id": incident_id},
        ordering_key=f"summary:{incident_id}",
        incident_id=incident_id,
        now=now,
        not_before=now + debounce,
        dedup_key=f"summary:{incident_id}",
    )


async def request_clock_refresh(session: AsyncSession, incident_id: int, now: datetime) -> None:
    """Edit the room's pinned clock message (posted and pinned the first time)."""
    await enqueue(
        session,
        method=ROOM_CLOCK,
        payload={"incident_id": incident_id},
        ordering_key=f"clock:{incident_id}",
        incident_id=incident_id,
        now=now,
        not_before=now + CLOCK_DEBOUNCE,
        dedup_key=f"clock:{incident_id}",
    )


async def request_group_post(
    session: AsyncSession, group: AlertGroup, channel: str, now: datetime, *, new: bool
) -> None:
    """A new post for the group in `channel` (`new`), or an edit of its existing one."""
    await enqueue(
        session,
        method=GROUP_POST,
        payload={"group_id": group.id, "channel": channel, "new": new},
        ordering_key=channel_key(channel),
        now=now,
        dedup_key=f"group:{group.id}",
        replace=new,
    )


async def request_room_message(
    session: AsyncSession,
    incident: Incident,
    text: str,
    now: datetime,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """A message in the incident's war room, in order with the room's other steps. While
    the room is being opened, it waits behind the room's creation (same ordering key) and
    finds the channel when it is sent; an incident without a room gets none."""
    found = blocks if blocks is not None else [section(text)]
    if incident.channel_id:
        await request_message(
            session, incident.channel_id, text, found, now,
            incident_id=incident.id, ordering_key=room_key(incident.id),
        )  # fmt: skip
    elif incident.room_state == "opening":
        await enqueue(
            session,
            method=ROOM_MESSAGE,
            payload={"incident_id": incident.id, "text": text, "blocks": found},
            ordering_key=room_key(incident.id),
            incident_id=incident.id,
            now=now,
        )


async def request_topic(
    session: AsyncSession, templates: Templates, incident: Incident, now: datetime
) -> None:
    """Set the room's topic to its severity, title and state."""
    if not incident.channel_id:
        return
    topic = templates.render(
        "war_room_topic.txt.j2",
        severity=incident.severity,
        title=incident.title,
        state=incident.state,
        is_drill=incident.is_drill,
    )
    await enqueue(
        session,
        method="conversations.setTopic",
        payload={"channel": incident.channel_id, "topic": topic[:TOPIC_LIMIT]},
        ordering_key=room_key(incident.id),
        incident_id=incident.id,
        now=now,
    )


async def request_message(
    session: AsyncSession,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]],
    now: datetime,
    *,
    incident_id: int | None = None,
    ordering_key: str | None = None,
) -> None:
    await enqueue(
        session,
        method="chat.postMessage",
        payload={"channel": channel, "text": text, "blocks": blocks},
        ordering_key=ordering_key or channel_key(channel),
        incident_id=incident_id,
        now=now,
    )


async def request_archive(session: AsyncSession, incident: Incident, now: datetime) -> None:
    """Archive the war room, after everything else queued for it."""
    if incident.channel_id:
        await enqueue(
            session,
            method="conversations.archive",
            payload={"channel": incident.channel_id},
            ordering_key=room_key(incident.id),
            incident_id=incident.id,
            now=now,
        )
