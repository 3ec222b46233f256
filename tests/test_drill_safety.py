"""A drill never reaches the real world: no ticket webhook call, no Statuspage request, no
e-mail, no backend call from a command typed in a drill's war room. The people see a
DRILL-marked answer and the drill's timeline holds a `drill: …` line. The same action for
a real incident still reaches the outside server, so each test can fail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select, update

from bot.config.backends import BackendSettings
from bot.config.settings import Settings, StatuspageSettings, TicketSettings
from bot.core import drill
from bot.db.engine import create_engine
from bot.db.models import Incident, StatusDraft
from bot.db.outbox import enqueue
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.sandbox.workspace import Channel, Message
from bot.tickets.webhook import TICKET_CREATE
from bot.web.keys import SERVICES
from tests.db_reads import incidents, rows, timeline
from tests.harness import Harness, bound_socket, eventually, running, url_of
from tests.ops_support import allowed, answer, demo_backends, ops_settings
from tests.settling import settled

T0 = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)


# --- the outside world, on loopback -------------------------------------------------------


@dataclass
class Outside:
    """A ticket webhook and a Statuspage API in one loopback server; every request kept."""

    url: str
    seen: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def tickets(self) -> list[Any]:
        return [body for _, path, body in self.seen if path == "/rest/jira/webhook"]

    @property
    def statuspage(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.seen if path.startswith("/v1/")]


@pytest.fixture
async def outside() -> AsyncIterator[Outside]:
    sock = bound_socket()
    got = Outside(url_of(sock))

    async def ticket(request: web.Request) -> web.Response:
        got.seen.append((request.method, request.path, await request.json()))
        return web.json_response({"key": "OPS-42"}, status=201)

    async def statuspage(request: web.Request) -> web.Response:
        body = await request.json()
        got.seen.append((request.method, request.path, body))
        return web.json_response({"id": "sp-inc-1", **body["incident"]}, status=201)

    app = web.Application()
    app.router.add_post("/rest/jira/webhook", ticket)
    app.router.add_post("/v1/pages/{page}/incidents", statuspage)
    app.router.add_patch("/v1/pages/{page}/incidents/{incident}", statuspage)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield got
    await runner.cleanup()


def outside_settings(url: str, **changes: Any) -> Settings:
    return Settings(
        tickets=TicketSettings(url=f"{url}/rest/jira/webhook"),
        backends={"statuspage": BackendSettings(base_url=f"{url}/v1")},
        statuspage=StatuspageSettings(page_id="pg1"),
        **changes,
    )


# --- incidents, one of them a drill ----------------------------------------------------------


async def declare(h: Harness, database_url: str, title: str, severity: str = "critical") -> Any:
    """Declare through /incident; the incident's row once its war room is built."""
    await h.slash(f"/incident declare {severity} {title}")

    async def built() -> Any:
        found = [i for i in await incidents(database_url) if i.title == title and i.channel_id]
        return found[0] if found and h.ws.channels[found[0].channel_id].pins else None

    return await eventually(built, within=20)


async def make_drill(database_url: str, incident_id: int) -> None:
    """The drill helper's code is not needed: the flag is set on the row directly."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Incident).where(Incident.id == incident_id).values(is_drill=True)
            )
    finally:
        await engine.dispose()


async def lines(database_url: str, incident_id: int, kind: str | None = None) -> list[str]:
    return [
        e.text for e in await timeline(database_url, incident_id) if kind is None or e.kind == kind
    ]


async def has_line(database_url: str, incident_id: int, text: str) -> bool | None:
    return any(text in line for line in await lines(database_url, incident_id)) or None


def room_of(h: Harness, incident: Any) -> Channel:
    return h.ws.channels[incident.channel_id]


def said(room: Channel, *needles: str) -> Message | None:
    found = [m for m in room.messages if all(n in m.text + json.dumps(m.blocks) for n in needles)]
    return found[-1] if found else None


# --- 1. tickets ------------------------------------------------------------------------------


async def test_the_clock_opens_no_ticket_for_a_drill_but_does_for_a_real_incident(
    database_url: str, outside: Outside
) -> None:
    clock = ManualClock(T0)
    async with running(database_url, settings=outside_settings(outside.url), clock=clock) as h:
        practice = await declare(h, database_url, "Drill: checkout failing", "warning")
        real = await declare(h, database_url, "Checkout failing", "warning")
        await make_drill(database_url, practice.id)
        clock.advance(timedelta(minutes=15, seconds=1))  # a warning's ticket is due
        await clock_tick(h.app[SERVICES])
        await eventually(lambda: outside.tickets or None, within=15)
        notice = await eventually(lambda: said(room_of(h, practice), "DRILL", "ticket not created"))
        assert "would POST to the ticket webhook; nothing was sent" in notice.text
        await eventually(
            lambda: has_line(
                database_url,
                practice.id,
                "drill: ticket not created (would POST to the ticket webhook)",
            )
        )
        await settled(h)
        assert [t["incident_id"] for t in outside.tickets] == [real.id]
        assert not said(room_of(h, practice), "Opened ticket")


async def test_a_ticket_queued_before_the_drill_flag_is_never_posted(
    database_url: str, outside: Outside
) -> None:
    clock = ManualClock(T0)
    async with running(database_url, settings=outside_settings(outside.url), clock=clock) as h:
        practice = await declare(h, database_url, "Drill: PMS webhooks late", "warning")
        await make_drill(database_url, practice.id)
        services = h.app[SERVICES]
        async with services.db.begin() as session:  # queued while it was still real
            await enqueue(
                session,
                method=TICKET_CREATE,
                payload={"event": "created", "incident_id": practice.id},
                ordering_key=f"ticket:{practice.id}",
                incident_id=practice.id,
                now=clock.now(),
            )
        services.db.wake_outbox()
        await eventually(
            lambda: has_line(database_url, practice.id, drill.ticket().timeline), within=15
        )
        await eventually(lambda: said(room_of(h, practice), "DRILL", "ticket not created"))
        await h.slash("/incident resolve drill over", channel=room_of(h, practice).name)
        await eventually(
            lambda: has_line(database_url, practice.id, drill.ticket_resolution().timeline)
        )
        await settled(h)
        assert outside.seen == []


# --- 2. the status page (and 3. the customer e-mail with it) ------------------------------


async def approve_a_draft(h: Harness, room: Channel) -> Message:
    await h.slash("/incident ic", user="U0IC", channel=room.name)
    await eventually(lambda: said(room, "Incident Commander*"))
    await h.slash("/statuspage-draft", channel=room.name)
    draft = await eventually(lambda: said(room, "Status-page draft v1*"))
    await h.press(draft, "sp_approve", user="U0IC")
    return draft


async def test_a_drill_practises_the_status_page_draft_but_publishes_nothing(
    database_url: str, outside: Outside
) -> None:
    async with running(database_url, settings=outside_settings(outside.url)) as h:
        practice = await declare(h, database_url, "Drill: WhatsApp messages not delivered")
        await make_drill(database_url, practice.id)
        draft = await approve_a_draft(h, room_of(h, practice))
        await eventually(lambda: drill.PUBLISHED in draft.text or None)
        assert "DRILL" in draft.text and "published to the status page" not in draft.text
        assert "copy-ready" in draft.text  # the text is there to practise with
        email = await eventually(
            lambda: next(
                (m for m in room_of(h, practice).messages if m.thread_ts == draft.ts != m.ts), None
            )
        )
        assert "DRILL" in email.text and "e-mail to customers not sent" in email.text
        await eventually(
            lambda: has_line(
                database_url,
                practice.id,
                "drill: status-page draft v1 published (drill — not sent to the status page)",
            )
        )
        assert await has_line(database_url, practice.id, "drill: e-mail to customers not sent")
        [stored] = await rows(database_url, select(StatusDraft))
        assert stored.state == "approved" and stored.published_at is not None
        assert stored.statuspage_incident_id is None
        assert outside.statuspage == []

        real = await declare(h, database_url, "WhatsApp messages not delivered")
        published = await approve_a_draft(h, room_of(h, real))
        await eventually(lambda: "published to the status page" in published.text or None)
        assert outside.statuspage == [("POST", "/v1/pages/pg1/incidents")]
        assert "DRILL" not in published.text


# --- 3. escalation e-mails --------------------------------------------------------------------


async def test_a_drills_escalation_email_is_marked_and_noted_not_sent(database_url: str) -> None:
    clock = ManualClock(T0)
    async with running(database_url, clock=clock) as h:
        practice = await declare(h, database_url, "Drill: insurer API down")
        real = await declare(h, database_url, "Insurer API down")
        await make_drill(database_url, practice.id)
        clock.advance(timedelta(minutes=30, seconds=1))  # the team lead's step
        await clock_tick(h.app[SERVICES])
        mail = await eventually(lambda: said(room_of(h, practice), "e-mail to the team lead"))
        text = json.dumps(mail.blocks)
        assert "DRILL" in text and "do not send" in text and "E-mail to send" not in text
        await eventually(
            lambda: has_line(database_url, practice.id, "drill: e-mail to the team lead not sent")
        )
        real_mail = await eventually(lambda: said(room_of(h, real), "E-mail to send"))
        assert "DRILL" not in json.dumps(real_mail.blocks)
        assert not await has_line(database_url, real.id, "drill:")


# --- 4. operational commands typed in a drill's war room ---------------------------------


ANSWERED = {  # read commands and a dry run: answered at once
    "/replay-deadletter rentguy --dry-run": (
        "ask the queues backend for a dry run of replaying up to 100 dead letters of rentguy"
    ),
    "/queue-status whatsapp-outbound": (
        "read the queue metrics of *whatsapp-outbound* from the queues backend"
    ),
    "/integration-status whatsapp": "ask the integrations backend for the health of *whatsapp*",
}
CONFIRMED = {  # mutating commands: the usual confirmation, then the DRILL answer
    "/pause-campaign cmp-1001 storm": "ask the campaigns backend to pause cmp-1001",
    "/resume-campaign cmp-1003": "ask the campaigns backend to resume cmp-1003",
    "/replay-deadletter whatsapp-outbound --limit 5": (
        "ask the queues backend to replay up to 5 dead letters of whatsapp-outbound"
    ),
}


async def test_commands_in_a_drill_room_reach_no_backend(database_url: str) -> None:
    async with demo_backends() as backend:
        settings = ops_settings(backend.url, allowed("U0OPS"))
        async with running(database_url, settings=settings) as h:
            practice = await declare(h, database_url, "Drill: campaign storm")
            await make_drill(database_url, practice.id)
            room = room_of(h, practice).name
            await h.slash("/pause-campaign cmp-1001 storm", user="U0NOBODY", channel=room)
            refused = await answer(h, "U0NOBODY", ":no_entry:", room)
            assert "DRILL" not in refused.text  # permissions are practised too
            for typed, would in ANSWERED.items():
                await h.slash(typed, user="U0OPS", channel=room)
                said_ = await answer(h, "U0OPS", f"would {would}; nothing was sent.", room)
                assert said_.ephemeral_to == "U0OPS" and "DRILL" in said_.text
            for typed, would in CONFIRMED.items():
                await h.slash(typed, user="U0OPS", channel=room)
                prompt = await answer(h, "U0OPS", f"would {would}; nothing will be sent.", room)
                assert "DRILL" in prompt.text and "op_confirm" in json.dumps(prompt.blocks)
                await h.press(prompt, "op_confirm", user="U0OPS")
                done = await answer(h, "U0OPS", f"would {would}; nothing was sent.", room)
                assert done.ephemeral_to is None and "DRILL" in done.text  # the room sees it
            assert backend.state.requests == []
            assert backend.state.campaigns["cmp-1001"].status == "running"
            assert backend.state.campaigns["cmp-1003"].status == "paused"
            assert backend.state.queues["whatsapp-outbound"].dead_letters == 12
            refusals = await lines(database_url, practice.id, "backend.call")
            assert "/pause-campaign refused: not permitted" in refusals
            noted = await lines(database_url, practice.id, "command")  # the drill report's
            for typed, would in {**ANSWERED, **CONFIRMED}.items():
                assert f"drill: {typed} not sent (would {would})" in noted

            await h.slash("/queue-status whatsapp-outbound", user="U0OPS")  # not a drill room
            await answer(h, "U0OPS", "whatsapp-outbound")
            assert ("GET", "/metrics/queues") in backend.state.requests
            await h.slash("/pause-campaign cmp-1001 storm", user="U0OPS")
            prompt = await answer(h, "U0OPS", "POST /campaigns/cmp-1001/stop")
            await h.press(prompt, "op_confirm", user="U0OPS")
            await answer(h, "U0OPS", "Paused campaign")
            assert backend.state.campaigns["cmp-1001"].status == "paused"


async def test_a_drill_practises_the_two_person_rule_and_still_sends_nothing(
    database_url: str,
) -> None:
    async with demo_backends() as backend:
        settings = ops_settings(backend.url, allowed("U0OPS", "U0IC", two_person=True))
        async with running(database_url, settings=settings) as h:
            practice = await declare(h, database_url, "Drill: voucher storm")
            await make_drill(database_url, practice.id)
            room = room_of(h, practice).name
            await h.slash("/pause-campaign cmp-1002", user="U0OPS", channel=room)
            prompt = await answer(h, "U0OPS", "nothing will be sent", room)
            await h.press(prompt, "op_confirm", user="U0OPS")
            ask = await answer(h, "U0IC", "a second allowed person must approve", room)
            await h.press(ask, "op_approve", user="U0IC")
            done = await answer(h, "U0IC", "pause cmp-1002; nothing was sent.", room)
            assert done.ephemeral_to is None and "DRILL" in done.text
            assert backend.state.requests == []
            assert backend.state.campaigns["cmp-1002"].status == "running"


# --- the policy itself --------------------------------------------------------------------------


@pytest.mark.parametrize("where", list(drill.Outside))
def test_a_drill_reaches_nothing_outside_and_a_real_incident_everything(
    where: drill.Outside,
) -> None:
    assert drill.may_reach(False, where) and not drill.may_reach(True, where)


def test_the_drill_words() -> None:
    assert drill.ticket().timeline == (
        "drill: ticket not created (would POST to the ticket webhook)"
    )
    assert drill.command_answer(
        "/pause-campaign cmp-1", "ask the campaigns backend to pause cmp-1"
    ) == (
        ":test_tube: *DRILL* — `/pause-campaign cmp-1` would ask the campaigns backend to pause "
        "cmp-1; nothing was sent."
    )
    assert drill.email("the CTO/owner").timeline.startswith(
        "drill: e-mail to the CTO/owner not sent"
    )
