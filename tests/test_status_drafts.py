"""/statuspage-draft in a war room: draft, edit (versions), approve (commander or comms
lead only), discard, and publishing to a Statuspage-shaped server on loopback."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.config.backends import BackendSettings
from bot.config.settings import Settings, StatuspageSettings
from bot.db.models import StatusDraft
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.sandbox.slack_requests import view_submission_body
from bot.sandbox.workspace import Channel, Message
from bot.web.keys import SERVICES
from tests.db_reads import incidents, rows, timeline
from tests.harness import Harness, bound_socket, eventually, running, url_of


@dataclass
class Statuspage:
    url: str
    calls: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
async def statuspage() -> AsyncIterator[Statuspage]:
    sock = bound_socket()
    page = Statuspage(f"{url_of(sock)}/v1")

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        page.calls.append(
            (request.method, request.path, request.headers.get("Authorization", ""), body)
        )
        return web.json_response({"id": "sp-inc-1", **body["incident"]}, status=201)

    async def update(request: web.Request) -> web.Response:
        body = await request.json()
        page.calls.append(
            (request.method, request.path, request.headers.get("Authorization", ""), body)
        )
        return web.json_response({"id": request.match_info["incident"], **body["incident"]})

    app = web.Application()
    app.router.add_post("/v1/pages/{page}/incidents", create)
    app.router.add_patch("/v1/pages/{page}/incidents/{incident}", update)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield page
    await runner.cleanup()


async def war_room(h: Harness, database_url: str) -> Channel:
    await h.slash("/incident declare critical WhatsApp messages not delivered")

    async def ready() -> Channel | None:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        return (
            h.ws.channels[stored[0].channel_id]
            if stored and h.ws.channels[stored[0].channel_id].pins
            else None
        )

    room: Channel = await eventually(ready, within=20)
    return room


def draft_message(room: Channel, version: int) -> Message | None:
    found = [m for m in room.messages if f"Status-page draft v{version}*" in m.text]
    return found[-1] if found else None


async def drafts(database_url: str) -> list[Any]:
    return await rows(database_url, select(StatusDraft).order_by(StatusDraft.version))


async def test_draft_edit_and_approval_by_the_commander_only(database_url: str) -> None:
    async with running(database_url) as h:
        room = await war_room(h, database_url)
        await h.slash(
            "/incident update Failover to the PORTAL channel is running", channel=room.name
        )
        await eventually(lambda: any("Status update" in m.text for m in room.messages) or None)
        await h.slash("/statuspage-draft", channel=room.name)
        first = await eventually(lambda: draft_message(room, 1))
        assert "*investigating*" in first.text and "impact *critical*" in first.text
        assert "Failover to the PORTAL channel is running" in first.text
        await h.press(first, "sp_approve", user="U0LEAD")
        refused = await eventually(
            lambda: [t for t in h.ephemerals("U0LEAD") if "only the Incident Commander" in t]
        )
        assert refused
        await h.press(first, "sp_edit", user="U0LEAD")
        view = await eventually(lambda: next(iter(h.ws.views.values()), None))
        values = {
            "name": {"name_value": {"type": "plain_text_input", "value": "WhatsApp delays"}},
            "body": {
                "body_value": {"type": "plain_text_input", "value": "We found it <b>& fixed</b>."}
            },
            "status": {
                "status_value": {
                    "type": "static_select",
                    "selected_option": {"value": "identified"},
                }
            },
        }
        body = view_submission_body(h.ws, user_id="U0LEAD", view=view, values=values)
        saved = await h.post_signed(body, "application/x-www-form-urlencoded")
        assert saved.status == 200 and saved.text.strip() in ("", "{}")
        await eventually(lambda: "v2*" in first.text or None)
        assert "*identified*" in first.text and "&lt;b&gt;&amp; fixed&lt;/b&gt;" in first.text
        await h.slash("/incident ic", user="U0IC", channel=room.name)
        await eventually(
            lambda: any("Incident Commander*" in m.text for m in room.messages) or None
        )
        stale = copy.deepcopy(first)  # a second Approve, from a client that had not refreshed
        await h.press(first, "sp_approve", user="U0IC")
        await eventually(lambda: "Approved by <@U0IC>" in first.text or None)
        assert "copy-ready" in first.text and "```WhatsApp delays" in json.dumps(first.blocks)
        email = await eventually(
            lambda: next((m for m in room.messages if m.thread_ts == first.ts != m.ts), None)
        )
        assert (
            "Customer e-mail" in email.text
            and "Subject: [Identified] WhatsApp delays" in email.text
        )
        stored = await drafts(database_url)
        assert [(d.version, d.state) for d in stored] == [(1, "superseded"), (2, "approved")]
        assert stored[1].approved_by == "U0IC" and stored[1].created_by == "U0LEAD"
        [incident] = await incidents(database_url)
        kinds = [
            e.text for e in await timeline(database_url, incident.id) if e.kind == "status.draft"
        ]
        assert kinds == [
            "Status-page draft v1 (investigating)",
            "Status-page draft edited: v2",
            "Status-page draft v2 approved",
        ]
        await h.press(stale, "sp_approve", user="U0IC")  # nothing more happens
        await eventually(lambda: [t for t in h.ephemerals("U0IC") if "already approved" in t])


async def test_discard_and_usage(database_url: str) -> None:
    async with running(database_url) as h:
        room = await war_room(h, database_url)
        ack = await h.slash("/statuspage-draft fixed", channel=room.name)
        assert "Usage:" in ack.json()["text"]
        await h.slash("/statuspage-draft")  # not in a war room
        await eventually(
            lambda: [t for t in h.ephemerals("U0ONCALL") if "in the incident's war room" in t]
        )
        await h.slash("/statuspage-draft monitoring", channel=room.name)
        message = await eventually(lambda: draft_message(room, 1))
        assert "*monitoring*" in message.text
        await h.press(message, "sp_discard", user="U0ONCALL")
        await eventually(lambda: "Discarded by <@U0ONCALL>" in message.text or None)
        assert not message.blocks[1:]  # no buttons left
        [stored] = await drafts(database_url)
        assert stored.state == "discarded"


async def test_approval_publishes_then_updates_the_same_statuspage_incident(
    database_url: str, statuspage: Statuspage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATUSPAGE_AUTH", "OAuth test-key-123")
    settings = Settings(
        backends={
            "statuspage": BackendSettings(base_url=statuspage.url, auth_env="STATUSPAGE_AUTH")
        },
        statuspage=StatuspageSettings(page_id="pg1", components={"whatsapp": "cmp-wa"}),
    )
    async with running(database_url, settings=settings) as h:
        room = await war_room(h, database_url)
        await h.slash("/incident ic", user="U0IC", channel=room.name)
        await eventually(
            lambda: any("Incident Commander*" in m.text for m in room.messages) or None
        )
        await h.slash("/statuspage-draft", channel=room.name)
        first = await eventually(lambda: draft_message(room, 1))
        await h.press(first, "sp_approve", user="U0IC")
        await eventually(lambda: "published to the status page" in first.text or None)
        await h.slash("/statuspage-draft resolved", channel=room.name)
        second = await eventually(lambda: draft_message(room, 2))
        await h.press(second, "sp_approve", user="U0IC")
        await eventually(lambda: len(statuspage.calls) == 2 or None)
        (m1, p1, auth, body1), (m2, p2, _, body2) = statuspage.calls
        assert (m1, p1) == ("POST", "/v1/pages/pg1/incidents") and auth == "OAuth test-key-123"
        assert (m2, p2) == ("PATCH", "/v1/pages/pg1/incidents/sp-inc-1")
        assert body1["incident"]["status"] == "investigating"
        assert body1["incident"]["impact_override"] == "critical"
        assert body2["incident"]["status"] == "resolved"
        stored = await drafts(database_url)
        assert [d.statuspage_incident_id for d in stored] == ["sp-inc-1", "sp-inc-1"]


async def test_the_update_reminder_offers_a_fresh_draft(database_url: str) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 3, 12, tzinfo=UTC))
    async with running(database_url, clock=clock) as h:
        room = await war_room(h, database_url)
        clock.advance(timedelta(minutes=15, seconds=1))
        await clock_tick(h.app[SERVICES])
        reminder = await eventually(
            lambda: next((m for m in room.messages if "No status update" in m.text), None)
        )
        await h.press(reminder, "sp_new", user="U0ONCALL")
        draft = await eventually(lambda: draft_message(room, 1))
        assert "Sp_approve" not in draft.text and '"sp_approve"' in json.dumps(draft.blocks)
