"""Tickets through the configured webhook, received by a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.config.settings import Settings, TicketSettings
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.web.keys import SERVICES
from tests.db_reads import incidents, timeline
from tests.harness import Harness, bound_socket, eventually, running, url_of
from tests.settling import settled

T0 = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)


@dataclass
class Receiver:
    url: str
    answers: list[Callable[[], web.Response]]  # answered in turn; then 201 with a key
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sock = bound_socket()
    got = Receiver(f"{url_of(sock)}/rest/jira/webhook", [])

    async def hook(request: web.Request) -> web.Response:
        got.seen.append((request.method, dict(request.headers), await request.json()))
        if got.answers:
            return got.answers.pop(0)()
        return web.json_response({"key": "OPS-42"}, status=201)

    async def stray(request: web.Request) -> web.Response:
        got.strays.append(request.path)
        return web.json_response({"key": "OPS-666"}, status=201)

    app = web.Application()
    app.router.add_post("/rest/jira/webhook", hook)
    app.router.add_post("/elsewhere", stray)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    yield got
    await runner.cleanup()


def with_tickets(url: str) -> Settings:
    return Settings(tickets=TicketSettings(url=url))


async def declared(h: Harness, database_url: str, severity: str = "critical") -> Any:
    await h.slash(f"/incident declare {severity} Checkout payments failing", user="U0ONCALL")

    async def room() -> Any:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        return stored[0] if stored else None

    return await eventually(room, within=20)


async def texts(database_url: str, incident_id: int, kind: str) -> list[str]:
    return [e.text for e in await timeline(database_url, incident_id) if e.kind == kind]


async def test_a_critical_incident_opens_one_ticket_at_once_and_resolves_it(
    database_url: str, receiver: Receiver
) -> None:
    receiver.answers.append(lambda: web.Response(status=503))  # the first try fails: retried
    async with running(database_url, settings=with_tickets(receiver.url)) as h:
        incident = await declared(h, database_url)
        await eventually(lambda: len(receiver.seen) >= 2 or None, within=15)
        room = h.ws.channels[incident.channel_id]
        await eventually(
            lambda: any("Opened ticket OPS-42 in OPS" in m.text for m in room.messages) or None
        )
        first, second = receiver.seen[0], receiver.seen[1]
        assert first[1]["Idempotency-Key"] == second[1]["Idempotency-Key"]  # one ticket
        body = second[2]
        assert body["event"] == "created" and body["project"] == "OPS"
        assert body["summary"] == "[critical] Checkout payments failing"
        assert body["first_responder"] == "U0ONCALL"
        opened = datetime.fromisoformat(body["opened_at"])
        assert datetime.fromisoformat(body["expected_resolution_at"]) - opened == timedelta(
            minutes=30
        )
        assert body["war_room"] == incident.channel_name
        await h.slash("/incident resolve bad deploy rolled back", channel=room.name)
        await eventually(lambda: len(receiver.seen) >= 3 or None, within=15)
        resolved = receiver.seen[2][2]
        assert resolved["event"] == "resolved" and resolved["incident_id"] == incident.id
        assert resolved["resolution"] == "bad deploy rolled back"
        await settled(h)
        assert len(receiver.seen) == 3  # nothing twice
        lines = await eventually(
            lambda: _two(texts(database_url, incident.id, "ticket")), within=10
        )
        assert lines == ["Opened ticket OPS-42 in OPS", "Marked ticket OPS-42 resolved in OPS"]


async def _two(lines: Any) -> list[str] | None:
    found: list[str] = await lines
    return found if len(found) == 2 else None


async def test_a_warning_gets_its_ticket_after_15_minutes(
    database_url: str, receiver: Receiver
) -> None:
    clock = ManualClock(T0)
    async with running(database_url, settings=with_tickets(receiver.url), clock=clock) as h:
        await declared(h, database_url, "warning")
        services = h.app[SERVICES]
        clock.advance(timedelta(minutes=14, seconds=59))
        await clock_tick(services)
        await settled(h)
        assert receiver.seen == []
        clock.advance(timedelta(seconds=1))
        await clock_tick(services)
        await eventually(lambda: receiver.seen or None, within=10)
        assert receiver.seen[0][2]["severity"] == "warning"


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (lambda: web.json_response({"error": "no such project"}, status=400), "HTTP 400"),
        (lambda: web.Response(status=302, headers={"Location": "/elsewhere"}), "HTTP 302"),
    ],
)
async def test_a_refused_ticket_is_on_the_timeline_and_never_redirected(
    database_url: str, receiver: Receiver, answer: Callable[[], web.Response], shown: str
) -> None:
    receiver.answers.append(answer)
    async with running(database_url, settings=with_tickets(receiver.url)) as h:
        incident = await declared(h, database_url)
        refused = await eventually(
            lambda: _one(texts(database_url, incident.id, "ticket")), within=15
        )
        assert f"refused ticket.create ({shown})" in refused
        assert "open the ticket by hand" in refused
        assert receiver.strays == [] and len(receiver.seen) == 1
        ready = await h.http.get(f"{h.bot_url}/healthz")
        assert ready.status == 200


async def _one(lines: Any) -> str | None:
    found: list[str] = await lines
    return found[0] if found else None


async def test_no_webhook_no_ticket_but_a_timeline_line(database_url: str) -> None:
    async with running(database_url) as h:
        incident = await declared(h, database_url)
        line = await eventually(lambda: _one(texts(database_url, incident.id, "ticket")))
        assert "no ticket webhook configured (tickets.url)" in line
