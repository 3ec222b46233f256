"""Alerts in, war room out — end to end over HTTP against the Slack sandbox.

Each test posts real-shaped alerts to the running bot and checks what reached "Slack" and
what the database holds, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.alerts.tick import alert_tick
from bot.config.settings import MaintenanceWindow, Settings, SlackSettings, WarRoomSettings
from bot.db.models import AlertGroup
from bot.infra.time_source import ManualClock
from bot.sandbox.page import SAMPLE_ALERTS
from bot.sandbox.workspace import Channel, Message
from bot.web.keys import SERVICES
from tests.db_reads import incidents, rows, timeline
from tests.harness import Harness, eventually, running
from tests.settling import settled

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
FIRING = json.loads((FIXTURES / "v4-firing.json").read_text())
RESOLVED = json.loads((FIXTURES / "v4-resolved.json").read_text())
CRITICAL_QUEUE = SAMPLE_ALERTS["critical"]
WARNING_QUEUE = SAMPLE_ALERTS["warning"]
MONDAY = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
ROOM_SETTINGS = Settings(
    slack=SlackSettings(
        war_room=WarRoomSettings(invite_users=("U0IC",), invite_usergroups=("S0ONCALL",))
    )
)


def rooms(h: Harness) -> list[Channel]:
    return [c for c in h.ws.channels.values() if c.name.startswith("inc-")]


async def ready_room(h: Harness, database_url: str, count: int = 1) -> list[Any]:
    """Wait until `count` incidents have rooms whose intro is pinned."""

    async def check() -> list[Any] | None:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        ready = [i for i in stored if h.ws.channels[i.channel_id].pins]
        return ready if len(ready) == count else None

    return await eventually(check, within=20)


def warning(queue: str, message: str = "backlog above warning") -> dict[str, Any]:
    return {**WARNING_QUEUE, "queue": queue, "message": f"{queue}: {message}"}


async def test_critical_alert_opens_one_dressed_war_room(database_url: str) -> None:
    async with running(database_url, settings=ROOM_SETTINGS) as h:
        status, body = await h.alert("alertmanager", FIRING)
        assert status == 202 and body["groups"][0]["action"] == "open_incident"
        [incident] = await ready_room(h, database_url)
        room = h.ws.channels[incident.channel_id]
        day = incident.created_at.astimezone().strftime("%Y%m%d")
        assert room.name.startswith("inc-") and room.name.endswith(
            "rentguy-queue-backlog-1-240-jobs-critical-1-000"
        )
        assert day[:6] in room.name
        assert {"U0IC", "U0ONCALL", "U0LEAD"} <= set(room.members)  # user + user group
        assert "CRITICAL" in room.topic
        intro = next(m for m in room.messages if m.ts == room.pins[0])
        dumped = json.dumps(intro.blocks)
        assert "RentGuy queue backlog" in dumped and "runbooks.example.com" in dumped
        actions = [
            e["action_id"] for b in intro.blocks if b["type"] == "actions" for e in b["elements"]
        ]
        assert actions == ["incident_ack", "incident_ic", "incident_update", "incident_resolve"]
        # The configured links (none here), then the alert's runbook.
        [mark] = await eventually(lambda: room.bookmarks)
        assert mark["title"] == "Runbook"
        marks = [mark]
        assert marks[-1]["link"] == "https://runbooks.example.com/queues#backlog-critical"
        [announcement] = await eventually(lambda: h.bot_messages("dr-war-room"))
        assert f"<#{room.id}>" in announcement.text
        kinds = [
            e.kind
            for e in await eventually(
                lambda: _timeline_has(database_url, incident.id, "war_room.announced")
            )
        ]
        assert kinds[0] in ("incident.declared", "alert.fired")
        assert {
            "alert.fired",
            "war_room.opened",
            "war_room.invited",
            "slack.message_posted",
        } <= set(kinds)


async def _timeline_has(database_url: str, incident_id: int, kind: str) -> list[Any] | None:
    events = await timeline(database_url, incident_id)
    return events if any(e.kind == kind for e in events) else None


async def test_repeats_and_ha_duplicates_make_exactly_one_room(database_url: str) -> None:
    async with running(database_url) as h:
        for _ in range(3):  # three Alertmanager replicas, twice, at the same instant
            answers = await asyncio.gather(*(h.alert("alertmanager", FIRING) for _ in range(3)))
            assert [status for status, _ in answers] == [202, 202, 202]
        await ready_room(h, database_url)
        await settled(h)
        assert len(await incidents(database_url)) == 1
        assert len(rooms(h)) == 1
        assert [m for m, _ in h.ws.calls].count("conversations.create") == 1
        assert len(h.bot_messages("dr-war-room")) == 1


async def test_resolution_is_recorded_and_suggested_after_a_quiet_spell(database_url: str) -> None:
    clock = ManualClock(MONDAY)
    async with running(database_url, clock=clock) as h:
        await h.alert("alertmanager", FIRING)
        [incident] = await ready_room(h, database_url)
        room = h.ws.channels[incident.channel_id]
        clock.advance(timedelta(minutes=3))
        status, body = await h.alert("alertmanager", RESOLVED)
        assert status == 202 and body["groups"][0]["action"] == "update_room"
        services = h.app[SERVICES]
        clock.advance(timedelta(minutes=9, seconds=59))
        await alert_tick(services)
        await settled(h)
        assert not [
            m for m in room.messages if "resolve" in m.text.lower() and "quiet" in m.text.lower()
        ]
        clock.advance(timedelta(seconds=1))
        await alert_tick(services)
        suggestion = await eventually(
            lambda: [
                m
                for m in room.messages
                if m.user == h.ws.bot_user_id and "/incident resolve" in m.text
            ]
        )
        await alert_tick(services)  # told once per quiet spell
        await settled(h)
        assert (
            len([m for m in room.messages if "/incident resolve" in m.text]) == len(suggestion) == 1
        )
        [stored] = await incidents(database_url)
        assert stored.state == "triggered"  # suggested, never closed automatically
        kinds = [e.kind for e in await timeline(database_url, incident.id)]
        assert "alert.resolved" in kinds and "incident.resolution_suggested" in kinds


async def test_warning_posts_once_per_throttle_window_with_buttons(database_url: str) -> None:
    clock = ManualClock(MONDAY)
    async with running(database_url, clock=clock) as h:
        status, body = await h.alert("generic", WARNING_QUEUE)
        assert status == 202 and body["groups"][0]["action"] == "post"
        [post] = await eventually(lambda: h.bot_messages("alerts-queues"))
        buttons = [
            e["action_id"] for b in post.blocks if b["type"] == "actions" for e in b["elements"]
        ]
        assert buttons == ["alert_ack", "alert_open_room"]
        resolved = {**WARNING_QUEUE, "status": "resolved"}
        for body_ in (resolved, WARNING_QUEUE):  # flaps back within the window
            clock.advance(timedelta(seconds=30))
            assert (await h.alert("generic", body_))[0] == 202
        await settled(h)
        assert len(h.bot_messages("alerts-queues")) == 1  # edited, not posted again
        assert "chat.update" in [m for m, _ in h.ws.calls]
        clock.advance(timedelta(minutes=2))
        await h.alert("generic", resolved)
        status, body = await h.alert("generic", WARNING_QUEUE)
        assert body["groups"][0]["action"] == "post"
        await eventually(lambda: len(h.bot_messages("alerts-queues")) == 2 or None)
        assert not rooms(h) and await incidents(database_url) == []


async def test_acknowledge_and_open_war_room_buttons(database_url: str) -> None:
    async with running(database_url) as h:
        await h.alert("generic", WARNING_QUEUE)
        [post] = await eventually(lambda: h.bot_messages("alerts-queues"))
        assert (await h.press(post, "alert_ack", user="U0LEAD")).status == 200
        await eventually(
            lambda: "U0LEAD" in json.dumps(h.bot_messages("alerts-queues")[0].blocks) or None
        )
        edited = copy.deepcopy(h.bot_messages("alerts-queues")[0])  # as a user saw it
        assert "alert_ack" not in json.dumps(edited.blocks)
        assert (await h.press(edited, "alert_open_room", user="U0IC")).status == 200
        [incident] = await ready_room(h, database_url)
        assert (
            incident.severity == "warning" and "U0IC" in h.ws.channels[incident.channel_id].members
        )
        await eventually(
            lambda: (
                f"<#{incident.channel_id}>" in json.dumps(h.bot_messages("alerts-queues")[0].blocks)
                or None
            )
        )
        await h.press(edited, "alert_open_room", user="U0IC")  # a second press joins the first
        await settled(h)
        assert len(await incidents(database_url)) == 1


async def test_warning_still_firing_after_fifteen_minutes_is_promoted(database_url: str) -> None:
    clock = ManualClock(MONDAY)
    async with running(database_url, clock=clock) as h:
        services = h.app[SERVICES]
        for _ in range(7):  # the sender repeats a queue alert while it holds (every 2 min)
            await h.alert("generic", WARNING_QUEUE)
            clock.advance(timedelta(minutes=2))
            await alert_tick(services)
        clock.advance(timedelta(seconds=59))
        await h.alert("generic", WARNING_QUEUE)
        await alert_tick(services)  # 14:59 after it began
        assert await incidents(database_url) == []
        clock.advance(timedelta(seconds=1))
        await alert_tick(services)
        [incident] = await ready_room(h, database_url)
        assert incident.severity == "warning"
        kinds = [e.kind for e in await timeline(database_url, incident.id)]
        assert "alert.promoted" in kinds
        await alert_tick(services)
        assert len(await incidents(database_url)) == 1


SUNDAY_0300 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


async def test_maintenance_suppresses_warnings_and_marks_criticals(database_url: str) -> None:
    clock = ManualClock(SUNDAY_0300)
    settings = replace(Settings(), maintenance=(MaintenanceWindow(),))
    async with running(database_url, clock=clock, settings=settings) as h:
        status, body = await h.alert("generic", warning("rentguy"))
        assert status == 202 and body["groups"][0]["action"] == "record"
        groups = await rows(database_url, select(AlertGroup.__table__))
        assert [g.during_maintenance for g in groups] == [True]
        clock.advance(timedelta(minutes=20))
        await alert_tick(h.app[SERVICES])  # no promotion inside the window either
        status, body = await h.alert("alertmanager", FIRING)
        assert body["groups"][0]["action"] == "open_incident"
        [incident] = await ready_room(h, database_url)
        assert incident.during_maintenance
        intro = next(m for m in h.ws.channels[incident.channel_id].messages if m.blocks)
        assert "maintenance" in json.dumps(intro.blocks).lower()
        assert not h.bot_messages("alerts-queues")


async def test_several_failing_queues_share_one_dr_incident(database_url: str) -> None:
    async with running(database_url) as h:
        await h.alert("generic", warning("rentguy"))
        await eventually(lambda: h.bot_messages("alerts-queues"))
        _status, body = await h.alert("generic", warning("whatsapp-outbound"))
        assert body["groups"][0]["action"] == "open_incident"
        first = body["groups"][0]["incident_id"]
        _status, body = await h.alert("generic", {**CRITICAL_QUEUE, "queue": "voucher-dispatch"})
        assert body["groups"][0]["incident_id"] == first
        [incident] = await ready_room(h, database_url)
        assert incident.severity == "critical"
        [stored] = await incidents(database_url)
        assert "rentguy" in stored.title and "whatsapp-outbound" in stored.title
        assert len(rooms(h)) == 1


async def test_alerts_joining_a_room_update_one_summary(database_url: str) -> None:
    settings = replace(
        Settings(), alerts=replace(Settings().alerts, room_summary_debounce=timedelta(0))
    )
    async with running(database_url, settings=settings) as h:
        base = FIRING["alerts"][0]
        await h.alert("alertmanager", FIRING)
        [incident] = await ready_room(h, database_url)
        for n in range(12):
            extra = {
                **base,
                "fingerprint": f"extra{n:04d}",
                "labels": {**base["labels"], "instance": f"w{n}"},
            }
            await h.alert("alertmanager", {**FIRING, "alerts": [extra]})
        room = h.ws.channels[incident.channel_id]

        def summary() -> Message | None:
            found = [
                m
                for m in room.messages
                if m.user == h.ws.bot_user_id and "14 firing" in json.dumps(m.blocks)
            ]
            return found[0] if found else None

        await eventually(summary)
        posts = [m for m in room.messages if m.user == h.ws.bot_user_id and m.blocks]
        assert len(posts) <= 3  # intro, summary (and nothing per alert)


HOSTILE = {
    **CRITICAL_QUEUE,
    "queue": "pay",
    "message": "<!channel> pay <@U0CTO> & <http://evil.example|click> @here",
}


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" else []
    return own + [t for value in node.values() for t in mrkdwn_texts(value)]


PAGERDUTY_HOSTILE = {
    "event_action": "trigger",
    "dedup_key": "hostile-1",
    "payload": {
        "summary": HOSTILE["message"],
        "severity": "warning",
        "source": "<!here> &amp; api",
        "custom_details": {"note": "<@U0CTO>"},
    },
}


async def test_alert_text_never_pings_or_links(database_url: str) -> None:
    async with running(database_url) as h:
        await h.alert("generic", HOSTILE)
        await h.alert("generic", PAGERDUTY_HOSTILE)
        [_incident] = await ready_room(h, database_url)
        await eventually(lambda: h.bot_messages("dr-war-room"))
        await eventually(lambda: h.bot_messages("alerts-queues"))
        checked = 0
        for channel in h.ws.channels.values():
            for message in channel.messages:
                # Slack parses mentions and links in `text` and mrkdwn; plain_text is literal.
                for text in [message.text, *mrkdwn_texts(message.blocks)]:
                    assert "<!channel>" not in text and "<@U0CTO>" not in text
                    assert "<http://evil" not in text and "@here" not in text
                    assert "<!here>" not in text
                    checked += 1
        assert checked > 10


async def test_queue_alerts_and_smoke_tests_resolve_when_no_longer_sent(
    database_url: str,
) -> None:
    clock = ManualClock(MONDAY)
    async with running(database_url, clock=clock) as h:
        services = h.app[SERVICES]
        smoke = {"type": "smoke", "message": "alert-test"}
        assert (await h.alert("generic", smoke))[1]["groups"][0]["action"] == "post"
        await h.alert("generic", WARNING_QUEUE)
        await eventually(lambda: len(h.bot_messages("alerts-queues")) == 2 or None)
        clock.advance(timedelta(minutes=4, seconds=59))
        await alert_tick(services)
        groups = await rows(database_url, select(AlertGroup.status))
        assert [g.status for g in groups] == ["firing", "firing"]
        clock.advance(timedelta(seconds=1))
        await alert_tick(services)  # five quiet minutes: resolved, as Alertmanager would
        groups = await rows(database_url, select(AlertGroup.status))
        assert [g.status for g in groups] == ["resolved", "resolved"]
        await eventually(
            lambda: (
                all("Resolved" in json.dumps(m.blocks) for m in h.bot_messages("alerts-queues"))
                or None
            )
        )
        _status, body = await h.alert("generic", smoke)  # tomorrow's smoke test posts again
        assert body["groups"][0]["action"] == "post"
        await eventually(lambda: len(h.bot_messages("alerts-queues")) == 3 or None)


async def test_a_warning_held_back_by_maintenance_posts_after_the_window(
    database_url: str,
) -> None:
    clock = ManualClock(datetime(2026, 11, 22, 3, 55, tzinfo=UTC))  # Sunday, 5 min left
    async with running(database_url, clock=clock) as h:
        services = h.app[SERVICES]
        assert (await h.alert("generic", WARNING_QUEUE))[1]["groups"][0]["action"] == "record"
        clock.advance(timedelta(minutes=4))
        await h.alert("generic", WARNING_QUEUE)
        clock.advance(timedelta(minutes=2))  # 04:01: the window is over
        _, body = await h.alert("generic", WARNING_QUEUE)
        assert body["groups"][0]["action"] == "post"
        await eventually(lambda: h.bot_messages("alerts-queues"))
        for _ in range(7):  # promotion counts from the post, not from inside the window
            clock.advance(timedelta(minutes=2))
            await h.alert("generic", WARNING_QUEUE)
            await alert_tick(services)
        assert await incidents(database_url) == []
        clock.advance(timedelta(minutes=1))
        await h.alert("generic", WARNING_QUEUE)
        await alert_tick(services)
        await ready_room(h, database_url)


async def test_queues_far_apart_are_separate_and_a_room_is_never_duplicated(
    database_url: str,
) -> None:
    clock = ManualClock(MONDAY)
    async with running(database_url, clock=clock) as h:
        await h.alert("generic", warning("rentguy"))
        await eventually(lambda: h.bot_messages("alerts-queues"))
        clock.advance(timedelta(minutes=3))
        await h.alert("generic", warning("rentguy"))
        clock.advance(timedelta(minutes=3))  # six minutes later: not "at the same time"
        _, body = await h.alert("generic", warning("mollie"))
        assert body["groups"][0]["action"] == "post"
        _, body = await h.alert("generic", warning("rentguy"))  # nor when rentguy repeats
        assert body["groups"][0]["action"] == "update_post"
        [post] = [
            m
            for m in await eventually(lambda: h.bot_messages("alerts-queues"))
            if "rentguy" in m.text
        ]
        await h.press(post, "alert_open_room", user="U0IC")
        [incident] = await ready_room(h, database_url)
        _, body = await h.alert("generic", {**CRITICAL_QUEUE, "queue": "voucher-dispatch"})
        assert body["groups"][0]["incident_id"] == incident.id  # joins, no second room
        await settled(h)
        assert len(rooms(h)) == 1 and len(await incidents(database_url)) == 1
        [stored] = await incidents(database_url)
        # mollie began failing with voucher-dispatch, so it is part of the DR incident too
        assert stored.title == "Several queues failing: mollie, rentguy, voucher-dispatch"
        assert stored.severity == "critical"


async def test_many_user_groups_and_rooms_at_once_under_real_pacing(database_url: str) -> None:
    settings = Settings(
        slack=SlackSettings(
            war_room=WarRoomSettings(invite_usergroups=("S0ONCALL", "S0IC", "S0ONCALL"))
        )
    )
    async with running(database_url, settings=settings) as h:
        first = FIRING["alerts"][0]
        for n in range(4):  # four different services, no queue label: four rooms
            labels = {"alertname": "ApiDown", "service": f"svc-{n}", "severity": "critical"}
            alert = {**first, "labels": labels, "fingerprint": f"pace{n:012d}"}
            body = {**FIRING, "groupKey": f'{{}}:{{service="svc-{n}"}}', "alerts": [alert]}
            assert (await h.alert("alertmanager", body))[0] == 202
        ready = await eventually(lambda: _ready_rooms(h, 4), within=40)
        for room in ready:
            assert {"U0ONCALL", "U0LEAD", "U0IC"} <= set(room.members)


def _ready_rooms(h: Harness, count: int) -> list[Channel] | None:
    found = [c for c in rooms(h) if c.pins]
    return found if len(found) == count else None
