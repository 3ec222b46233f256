"""After resolve: the checklist people tick (on the timeline), and the room archived after
the configured delay — not when the incident was reopened."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config.settings import PostIncidentSettings, Settings
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.sandbox.slack_requests import block_actions_body
from bot.sandbox.web_api import new_response_url
from bot.sandbox.workspace import Channel, Message
from bot.web.keys import SERVICES
from tests.db_reads import incidents, timeline
from tests.harness import Ack, Harness, eventually, running

T0 = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)


async def resolved_room(h: Harness, database_url: str) -> tuple[Any, Channel]:
    await h.slash("/incident declare critical Insurer API down")

    async def ready() -> tuple[Any, Channel] | None:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        if not stored or not h.ws.channels[stored[0].channel_id].pins:
            return None
        return stored[0], h.ws.channels[stored[0].channel_id]

    incident, room = await eventually(ready, within=20)
    await h.slash("/incident resolve claims submitted by hand", channel=room.name)
    return incident, room


def checklist(room: Channel) -> Message | None:
    return next((m for m in room.messages if "Post-incident checklist" in m.text), None)


async def tick(h: Harness, message: Message, positions: list[int], user: str) -> Ack:
    element = message.blocks[1]["elements"][0]
    chosen = [o for o in element["options"] if int(o["value"]) in positions]
    token = new_response_url(
        h.ws, channel=message.channel, user=user, now=time.time(), message_ts=message.ts
    )
    body = block_actions_body(
        h.ws,
        user_id=user,
        channel_id=message.channel,
        message=message,
        action={**element, "block_id": message.blocks[1]["block_id"], "selected_options": chosen},
        response_url=f"{h.sandbox_url}/response/{token}",
        trigger_id=h.trigger(),
    )
    return await h.post_signed(body, "application/x-www-form-urlencoded")


async def test_the_checklist_is_ticked_in_the_room_and_on_the_timeline(database_url: str) -> None:
    async with running(database_url) as h:
        incident, room = await resolved_room(h, database_url)
        uploads = await eventually(lambda: _two([f for f in h.ws.files.values() if f["completed"]]))
        by_name = {f["name"]: f for f in uploads}
        timeline_file = by_name[f"incident-{incident.id}-timeline.md"]
        skeleton = by_name[f"incident-{incident.id}-post-mortem.md"]["content"].decode()
        assert room.id in timeline_file["channels"]
        assert b"claims submitted by hand" in timeline_file["content"]
        assert "# Post-mortem: incident #" in skeleton and "Insurer API down" in skeleton
        assert "Resolution: claims submitted by hand" in skeleton and "## Root cause" in skeleton
        message = await eventually(lambda: checklist(room))
        assert "0 of 10 done" in message.text
        assert "Root cause analysis done" in json.dumps(message.blocks)
        await tick(h, message, [0, 2], "U0IC")
        await eventually(lambda: "2 of 10 done" in message.text or None)
        assert "1 by <@U0IC>" in json.dumps(message.blocks)
        await tick(h, message, [2], "U0LEAD")
        await eventually(lambda: "1 of 10 done" in message.text or None)
        events = [e for e in await timeline(database_url, incident.id) if e.kind == "checklist"]
        assert [(e.text.split(":")[0], e.actor) for e in events] == [
            ("Checklist ticked", "U0IC"),
            ("Checklist ticked", "U0IC"),
            ("Checklist unticked", "U0LEAD"),
        ]


async def test_the_room_is_archived_after_the_delay_unless_reopened(database_url: str) -> None:
    clock = ManualClock(T0)
    settings = Settings(post_incident=PostIncidentSettings(archive_after=timedelta(hours=1)))
    async with running(database_url, settings=settings, clock=clock) as h:
        _incident, room = await resolved_room(h, database_url)
        await eventually(lambda: checklist(room))
        clock.advance(timedelta(minutes=59))
        await clock_tick(h.app[SERVICES])
        assert not room.is_archived
        clock.advance(timedelta(minutes=1))
        await clock_tick(h.app[SERVICES])
        await eventually(lambda: room.is_archived or None)


async def test_a_reopened_room_is_not_archived(database_url: str) -> None:
    clock = ManualClock(T0)
    settings = Settings(post_incident=PostIncidentSettings(archive_after=timedelta(hours=1)))
    async with running(database_url, settings=settings, clock=clock) as h:
        second = await h.slash("/incident declare warning Reopened one")
        assert second.status == 200
        stored = await eventually(lambda: _room_of(database_url, h, "reopened-one"), within=20)
        await h.slash("/incident resolve", channel=stored.name)
        await eventually(lambda: checklist(stored))
        await h.slash("/incident reopen", channel=stored.name)
        await eventually(lambda: any("reopened" in m.text for m in stored.messages) or None)
        clock.advance(timedelta(hours=2))
        await clock_tick(h.app[SERVICES])
        await eventually(lambda: any("not acknowledged" in m.text for m in stored.messages) or None)
        assert not stored.is_archived


def _two(found: list[Any]) -> list[Any] | None:
    return found if len(found) >= 2 else None


async def _room_of(database_url: str, h: Harness, slug: str) -> Channel | None:
    rooms = [c for c in h.ws.channels.values() if c.name.endswith(slug) and c.pins]
    return rooms[0] if rooms else None
