"""`/incident declare` and `/incident help` end to end: signed request in, war room out."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.settings import Settings
from bot.sandbox.workspace import Channel, Fault
from tests.db_reads import incidents, timeline
from tests.harness import Harness, eventually, running


def _room(h: Harness, suffix: str) -> Channel | None:
    return next((c for c in h.ws.channels.values() if c.name.endswith(suffix)), None)


async def _stored_with_room(database_url: str) -> list[Any]:
    return [i for i in await incidents(database_url) if i.channel_id]


def _day(incident: Any) -> str:
    """War rooms are named inc-YYYYMMDD-<slug>, the date in the configured time zone."""
    return incident.created_at.astimezone(ZoneInfo(Settings().timezone)).strftime("%Y%m%d")


async def _ready(h: Harness, database_url: str) -> Any:
    """The incident once its room has the intro pinned (the outbox builds it step by step)."""
    [stored] = await eventually(lambda: _stored_with_room(database_url))
    await eventually(lambda: h.ws.channels[stored.channel_id].pins, within=20)
    return stored


async def test_declare_opens_a_war_room(database_url: str) -> None:
    async with running(database_url) as h:
        ack = await h.slash("/incident declare critical WhatsApp sends failing", user="U0ONCALL")
        assert ack.status == 200

        stored = await _ready(h, database_url)
        room = h.ws.channels[stored.channel_id]
        assert room.name == f"inc-{_day(stored)}-whatsapp-sends-failing"
        assert stored.severity == "critical" and stored.state == "triggered"
        assert stored.declared_by == "U0ONCALL" and stored.channel_name == room.name

        assert "U0ONCALL" in room.members
        assert "CRITICAL" in room.topic and "WhatsApp sends failing" in room.topic
        pinned = room.pins[0]  # the intro; the clock message is pinned after it
        intro = next(m for m in room.messages if m.ts == pinned)
        assert intro.user == h.ws.bot_user_id
        assert intro.blocks[0] == {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"Incident #{stored.id}: WhatsApp sends failing",
            },
        }

        [announcement] = await eventually(lambda: h.channel("dr-war-room").messages)
        assert f"<#{room.id}>" in announcement.text and "CRITICAL" in announcement.text

        replies = await eventually(lambda: [t for t in h.ephemerals("U0ONCALL") if "is open" in t])
        assert f"<#{room.id}>" in replies[0]

        kinds = [e.kind for e in await timeline(database_url, stored.id)]
        assert kinds[0] == "incident.declared"
        assert {"war_room.opened", "war_room.invited", "war_room.announced"} <= set(kinds)
        assert "war_room.failed" not in kinds


async def test_warning_is_announced_in_the_alerts_channel(database_url: str) -> None:
    async with running(database_url) as h:
        await h.slash("/incident declare P2 Mawaqit prayer times stale", user="U0IC")
        [stored] = await eventually(lambda: _stored_with_room(database_url))
        assert stored.severity == "warning"
        alerts = await eventually(lambda: h.channel("alerts-queues").messages)
        assert f"<#{stored.channel_id}>" in alerts[-1].text
        assert not h.channel("dr-war-room").messages


async def test_taken_name_gets_a_suffix(database_url: str) -> None:
    async with running(database_url) as h:
        # Someone already made today's channel by hand; two incidents of the same name follow.
        today = datetime.now(ZoneInfo(Settings().timezone)).strftime("%Y%m%d")
        taken = f"inc-{today}-queue-stuck"
        h.ws.channels["CTAKEN"] = Channel(id="CTAKEN", name=taken, created=0, creator="U0LEAD")
        await h.slash("/incident declare warning Queue stuck")
        await eventually(lambda: _stored_with_room(database_url))
        await h.slash("/incident declare warning Queue stuck")
        rooms = await eventually(lambda: _pair(database_url))
        assert [r.channel_name for r in rooms] == [f"{taken}-2", f"{taken}-3"]
        assert "CTAKEN" not in [r.channel_id for r in rooms]


async def _pair(database_url: str) -> list[Any] | None:
    stored = await _stored_with_room(database_url)
    return stored if len(stored) == 2 else None


async def test_hostile_title_is_escaped_everywhere(database_url: str) -> None:
    async with running(database_url) as h:
        await h.slash(
            "/incident declare critical <!channel> pay <@U0CTO> & <http://evil|here> @here"
        )
        stored = await _ready(h, database_url)
        [announcement] = await eventually(lambda: h.channel("dr-war-room").messages)
        room = h.ws.channels[stored.channel_id]
        intro = next(m for m in room.messages if m.ts in room.pins)
        for text in (announcement.text, intro.text, intro.blocks[1]["text"]["text"]):
            assert "<!channel>" not in text and "<@U0CTO>" not in text and "<http" not in text
        assert "&lt;!channel&gt;" in announcement.text and "&amp;" in announcement.text
        assert "@here" not in announcement.text
        assert room.name.startswith(f"inc-{_day(stored)}-channel-pay-u0cto")


async def test_room_still_opens_when_slack_rate_limits(database_url: str) -> None:
    async with running(database_url) as h:
        h.ws.faults["conversations.create"] = Fault(status=429, retry_after=1, remaining=1)
        h.ws.faults["chat.postMessage"] = Fault(status=503, remaining=1)
        await h.slash("/incident declare critical Insurer API down")
        stored = await _ready(h, database_url)
        room = h.ws.channels[stored.channel_id]
        intros = h.intros(room)
        assert len(intros) == 1 and room.pins[0] == intros[0].ts
        assert [m for m, _ in h.ws.calls].count("conversations.create") == 2


async def test_usage_errors_are_answered_privately_in_the_ack(database_url: str) -> None:
    async with running(database_url) as h:
        for text, expected in (
            ("/incident declare", "needs a severity and a title"),
            ("/incident declare critical", "needs a severity and a title"),
            ("/incident declare urgent Things broke", "unknown severity `urgent`"),
            ("/incident frobnicate", "not a subcommand"),
            ("/incident declare critical " + "x" * 151, "keep it under 150"),
        ):
            ack = await h.slash(text)
            assert ack.status == 200
            body = ack.json()
            assert body["response_type"] == "ephemeral"
            assert expected in body["text"] and "Usage: `/incident" in body["text"]
        assert await incidents(database_url) == []
        assert not [c for c in h.ws.channels.values() if c.name.startswith("inc-")]


async def test_help_lists_the_subcommands(database_url: str) -> None:
    async with running(database_url) as h:
        ack = await h.slash("/incident help")
        assert ack.status == 200
        [text] = await eventually(lambda: h.ephemerals("U0ONCALL"))
        assert "/incident declare &lt;critical|warning|info|P1-P4&gt; &lt;title&gt;" in text
