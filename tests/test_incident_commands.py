"""`/incident` run from Slack, end to end: in the war room or by number, buttons included."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bot.sandbox.methods_common import append_message
from bot.sandbox.slack_requests import JSON_CONTENT, event_callback_body, reaction_event
from bot.sandbox.workspace import Channel, Message
from tests.db_reads import incidents, timeline
from tests.harness import Harness, eventually, running
from tests.settling import settled

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
FIRING = json.loads((FIXTURES / "v4-firing.json").read_text())


async def declared_room(h: Harness, database_url: str) -> tuple[Any, Channel]:
    await h.slash("/incident declare critical WhatsApp sends failing", user="U0ONCALL")

    async def ready() -> tuple[Any, Channel] | None:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        if not stored or not h.ws.channels[stored[0].channel_id].pins:
            return None
        return stored[0], h.ws.channels[stored[0].channel_id]

    return await eventually(ready, within=20)


async def said(h: Harness, user: str, text: str) -> str:
    found = await eventually(lambda: [t for t in h.ephemerals(user) if text in t])
    return str(found[-1])


def room_says(room: Channel, text: str) -> bool:
    return any(text in m.text for m in room.messages)


async def test_the_whole_lifecycle_from_the_war_room(database_url: str) -> None:
    async with running(database_url) as h:
        incident, room = await declared_room(h, database_url)
        name = room.name
        await h.slash("/incident ack", user="U0ONCALL", channel=name)
        await said(h, "U0ONCALL", f"Incident #{incident.id} acknowledged")
        await eventually(lambda: room_says(room, "acknowledged* by <@U0ONCALL>"))
        await h.slash("/incident ic", user="U0IC", channel=name)
        await eventually(lambda: room_says(room, "<@U0IC> is now *Incident Commander*"))
        duties = await eventually(
            lambda: [
                m
                for c in h.ws.channels.values()
                if c.is_im
                for m in c.messages
                if "Incident Commander" in m.text
            ]
        )
        assert "Approve status-page drafts" in duties[0].text
        await h.slash("/incident role comms <@U0LEAD|lead>", user="U0IC", channel=name)
        await h.slash("/incident severity P2", user="U0IC", channel=name)
        await eventually(lambda: "WARNING" in room.topic)
        await h.slash("/incident update Failover to PORTAL chat done", user="U0IC", channel=name)
        await eventually(lambda: room_says(room, "Failover to PORTAL chat done"))
        await h.slash(
            "/incident note <!channel> token expired at 03:02", user="U0ONCALL", channel=name
        )
        await said(h, "U0ONCALL", "Noted on incident")
        await h.slash("/incident mitigated", user="U0IC", channel=name)
        await h.slash("/incident resolve expired WhatsApp token rotated", user="U0IC", channel=name)
        await eventually(lambda: room_says(room, "resolved* by <@U0IC>: expired WhatsApp token"))
        [stored] = await incidents(database_url)
        assert stored.state == "resolved" and stored.resolved_by == "U0IC"
        assert stored.acknowledged_by == "U0ONCALL" and stored.severity == "warning"
        assert stored.resolution == "expired WhatsApp token rotated"
        assert stored.last_update_at is not None and stored.version > 1

        await h.slash("/incident status", user="U0IC", channel=name)
        status = await said(h, "U0IC", "State: *resolved*")
        assert (
            "Incident Commander: <@U0IC>" in status and "Communications Lead: <@U0LEAD>" in status
        )
        await h.slash("/incident stats 7", user="U0IC", channel="general")
        stats = await said(h, "U0IC", "Incidents in the last 7 days")
        assert "1 (1 warning)" in stats and "resolved within 30 min: 1 of 1" in stats
        await h.slash("/incident timeline 50", user="U0IC", channel=name)
        shown = await said(h, "U0IC", "events*")
        assert "incident.state_changed" in shown and "&lt;!channel&gt; token expired" in shown
        kinds = [e.kind for e in await timeline(database_url, incident.id)]
        for kind in (
            "incident.state_changed",
            "incident.role_assigned",
            "incident.severity_changed",
            "incident.status_update",
            "note",
        ):
            assert kind in kinds, kind
        notes = [e for e in await timeline(database_url, incident.id) if e.kind == "note"]
        assert notes[0].actor == "U0ONCALL" and notes[0].text.startswith("<!channel>")


async def test_moves_that_do_not_apply_are_refused_privately(database_url: str) -> None:
    async with running(database_url) as h:
        incident, room = await declared_room(h, database_url)
        await h.slash("/incident reopen", channel=room.name)
        await said(h, "U0ONCALL", "not resolved — nothing to reopen")
        await h.slash("/incident resolve", channel=room.name)
        await said(h, "U0ONCALL", "resolved.")
        await h.slash("/incident ack", channel=room.name)
        await said(h, "U0ONCALL", "/incident reopen` first")
        await h.slash("/incident reopen", channel=room.name)
        await said(h, "U0ONCALL", "reopened")
        await h.slash("/incident role pilot <@U0IC>", channel=room.name)
        await said(h, "U0ONCALL", "there is no role `pilot`")
        await h.slash(f"/incident ack #{incident.id + 99}", channel="general")
        await said(h, "U0ONCALL", f"there is no incident #{incident.id + 99}")
        await h.slash("/incident ack", channel="general")
        await said(h, "U0ONCALL", "this is not a war room")
        await h.slash(f"/incident ack #{incident.id}", channel="general")
        await said(h, "U0ONCALL", f"Incident #{incident.id} acknowledged")


async def test_intro_buttons_do_what_their_commands_do(database_url: str) -> None:
    async with running(database_url) as h:
        _incident, room = await declared_room(h, database_url)
        intro = next(m for m in room.messages if m.ts == room.pins[0])
        await h.press(intro, "incident_ack", user="U0ONCALL")
        await eventually(lambda: room_says(room, "acknowledged* by <@U0ONCALL>"))
        await h.press(intro, "incident_ic", user="U0IC")
        await eventually(lambda: room_says(room, "<@U0IC> is now *Incident Commander*"))
        await h.press(intro, "incident_ack", user="U0LEAD")
        await said(h, "U0LEAD", "already acknowledged")
        await h.press(intro, "incident_resolve", user="U0IC")
        await eventually(lambda: room_says(room, "resolved* by <@U0IC>"))
        [stored] = await incidents(database_url)
        assert stored.state == "resolved" and stored.acknowledged_by == "U0ONCALL"


async def test_the_post_update_button_opens_a_form_that_posts_the_update(
    database_url: str,
) -> None:
    async with running(database_url) as h:
        incident, room = await declared_room(h, database_url)
        intro = next(m for m in room.messages if m.ts == room.pins[0])
        await h.press(intro, "incident_update", user="U0IC")
        view = await eventually(lambda: next(iter(h.ws.views.values()), None))
        assert view["callback_id"] == "incident_update_modal"
        assert view["private_metadata"] == str(incident.id)
        empty = await h.submit(view, {("update", "text"): "   "}, user="U0IC")
        assert empty.json()["response_action"] == "errors"
        assert "Write the update first" in empty.json()["errors"]["update"]
        forged = await h.submit({**view, "private_metadata": "x"}, {("update", "text"): "hi"})
        assert forged.json()["errors"]["update"] == "This form names no incident."
        posted = await h.submit(view, {("update", "text"): "Failover <done> & verified"})
        assert posted.status == 200 and posted.text.strip() in ("", "{}")
        await eventually(lambda: room_says(room, "Failover &lt;done&gt; &amp; verified"))
        updates = [
            e
            for e in await timeline(database_url, incident.id)
            if e.kind == "incident.status_update"
        ]
        assert [(e.text, e.actor) for e in updates] == [("Failover <done> & verified", "U0ONCALL")]


async def test_a_resolved_alert_incident_frees_its_group_for_the_next_one(
    database_url: str,
) -> None:
    async with running(database_url) as h:
        _, first = await h.alert("alertmanager", FIRING)
        first_id = first["groups"][0]["incident_id"]
        room = await eventually(
            lambda: next(
                (c for c in h.ws.channels.values() if c.name.startswith("inc-") and c.pins), None
            ),
            within=20,
        )
        await h.slash("/incident resolve fixed", channel=room.name)
        await eventually(lambda: room_says(room, "resolved* by"))
        _, again = await h.alert("alertmanager", FIRING)  # the same group fires again
        assert again["groups"][0]["action"] == "open_incident"
        assert again["groups"][0]["incident_id"] != first_id
        await h.slash(f"/incident reopen #{first_id}", channel="general")
        await said(h, "U0ONCALL", "reopened")
        stored = {i.id: i for i in await incidents(database_url)}
        assert stored[first_id].open_group_key is None  # the newer incident keeps the group


async def react(
    h: Harness, message: Message, *, user: str, name: str, removed: bool = False
) -> int:
    event = reaction_event(
        h.ws,
        user_id=user,
        message=message,
        name=name,
        removed=removed,
        event_ts=f"{time.time():.6f}",
    )
    body = event_callback_body(h.ws, event, time.time())
    return (await h.post_signed(body, JSON_CONTENT)).status


async def pins_of(database_url: str, incident_id: int) -> list[Any]:
    return [e for e in await timeline(database_url, incident_id) if e.kind == "pinned"]


async def test_pushpin_reactions_put_messages_on_the_timeline(database_url: str) -> None:
    async with running(database_url) as h:
        incident, room = await declared_room(h, database_url)
        said_at = time.time() - 120
        message = append_message(
            h.ws, room, user="U0LEAD", text="Mollie webhooks back <!here> at 03:20", now=said_at
        )
        assert await react(h, message, user="U0IC", name="pushpin") == 200
        [pin] = await eventually(lambda: pins_of(database_url, incident.id))
        assert pin.actor == "U0LEAD" and pin.text.startswith("Mollie webhooks back")
        assert abs(pin.occurred_at.timestamp() - float(message.ts)) < 1
        assert pin.data["pinned_by"] == "U0IC"
        await react(h, message, user="U0ONCALL", name="pushpin")  # a second pin: nothing new
        await react(h, message, user="U0ONCALL", name="eyes")  # not a pin
        await settled(h)
        assert len(await pins_of(database_url, incident.id)) == 1
        await react(h, message, user="U0IC", name="pushpin", removed=True)
        await eventually(lambda: _none_pinned(database_url, incident.id))
        outside = append_message(h.ws, h.channel("general"), user="U0LEAD", text="hi", now=said_at)
        await react(h, outside, user="U0IC", name="pushpin")  # not a war room: ignored
        gone = append_message(h.ws, room, user="U0LEAD", text="deleted soon", now=said_at)
        room.messages.remove(gone)
        await react(h, gone, user="U0IC", name="pushpin")  # deleted before the event: ignored
        await settled(h)
        assert await pins_of(database_url, incident.id) == []


async def _none_pinned(database_url: str, incident_id: int) -> bool:
    return not await pins_of(database_url, incident_id)
