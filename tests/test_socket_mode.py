"""Socket Mode, end to end: the sandbox speaks it (apps.connections.open, a WebSocket with
envelopes and acks) and the real bot, started with an app token, works over it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.sandbox.app import create_sandbox_app
from bot.sandbox.embedded import prepare_sandbox
from bot.sandbox.page import PageConfig
from bot.sandbox.socket_mode import SOCKETS, SocketHub, envelope_of
from bot.sandbox.workspace import Channel, Workspace, default_workspace
from bot.web.app import create_app
from tests.harness import Harness, bound_socket, eventually, running, runtime_for, url_of

FIRING = json.loads(
    (Path(__file__).resolve().parent / "fixtures" / "alertmanager" / "v4-firing.json").read_text()
)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    sock = bound_socket()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield url_of(sock)
    finally:
        await runner.cleanup()


def sandbox_alone(ws: Workspace) -> web.Application:
    page = PageConfig("http://127.0.0.1:1", "http://127.0.0.1:1/slack/events", "s", "", "")
    return create_sandbox_app(ws, time.time, page)


async def connections_open(http: aiohttp.ClientSession, api: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(f"{api}/apps.connections.open", headers=headers) as resp:
        return await resp.json()


async def war_room(h: Harness) -> Channel:
    return await eventually(
        lambda: next(
            (c for c in h.ws.channels.values() if c.name.startswith("inc-") and c.pins), None
        ),
        within=20,
    )


async def said(h: Harness, user: str, text: str) -> str:
    found = await eventually(lambda: [t for t in h.ephemerals(user) if text in t])
    return str(found[-1])


def room_says(room: Channel, text: str) -> bool:
    return any(text in m.text for m in room.messages)


async def slack_events_posts(h: Harness) -> int:
    async with h.http.get(f"{h.bot_url}/metrics") as resp:
        text = await resp.text()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith('warroom_http_requests_total{route="/slack/events"')
    )


async def page_act(h: Harness, path: str, form: dict[str, str]) -> str:
    """A person's act on the sandbox page; returns the page it redirects back to."""
    async with h.http.post(f"{h.sandbox_url}/{path}", data=form) as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


# ------------------------------------------------------------ the sandbox alone


async def test_connections_open_takes_the_app_token_only() -> None:
    ws = default_workspace(time.time())
    async with serve(sandbox_alone(ws)) as url, aiohttp.ClientSession() as http:
        api = f"{url}/api"
        assert await connections_open(http, api, None) == {"ok": False, "error": "not_authed"}
        bot = await connections_open(http, api, ws.bot_token)
        assert bot == {"ok": False, "error": "not_allowed_token_type"}
        bad = await connections_open(http, api, "xapp-1-A0WARROOM-1-wrong")
        assert bad == {"ok": False, "error": "invalid_auth"}
        opened = await connections_open(http, api, ws.app_token)
        assert opened["ok"] is True
        assert opened["url"].startswith(f"ws://127.0.0.1:{url.rsplit(':', 1)[1]}/socket/")
        # ... and the app token opens nothing else
        headers = {"Authorization": f"Bearer {ws.app_token}"}
        async with http.post(f"{api}/auth.test", headers=headers) as resp:
            assert (await resp.json())["error"] == "not_allowed_token_type"


async def test_a_socket_url_is_good_for_one_connection() -> None:
    ws = default_workspace(time.time())
    async with serve(sandbox_alone(ws)) as url, aiohttp.ClientSession() as http:
        socket_url = (await connections_open(http, f"{url}/api", ws.app_token))["url"]
        async with http.ws_connect(socket_url, autoping=False) as first:
            hello = await first.receive_json(timeout=5)
            assert hello["type"] == "hello" and hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": ws.app_id}
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(socket_url)
            assert refused.value.status == 401
            await first.ping(b"are-you-there")
            pong = await first.receive(timeout=5)
            assert pong.type == aiohttp.WSMsgType.PONG and pong.data == b"are-you-there"


async def test_envelopes_go_round_robin_and_wait_for_the_matching_ack() -> None:
    ws = default_workspace(time.time())
    app = sandbox_alone(ws)
    hub = app[SOCKETS]
    async with serve(app) as url, aiohttp.ClientSession() as http:
        clients = []
        for _ in range(2):
            socket_url = (await connections_open(http, f"{url}/api", ws.app_token))["url"]
            client = await http.ws_connect(socket_url)
            assert (await client.receive_json(timeout=5))["type"] == "hello"
            clients.append(client)
        await eventually(lambda: len(hub.live()) == 2)

        async def ack_one(client: aiohttp.ClientWebSocketResponse, text: str) -> dict[str, Any]:
            envelope: dict[str, Any] = await client.receive_json(timeout=5)
            await client.send_json({"envelope_id": "not-this-one", "payload": {"text": "x"}})
            await client.send_json(
                {"envelope_id": envelope["envelope_id"], "payload": {"text": text}}
            )
            return envelope

        for index, client in enumerate(clients):
            answer, envelope = await asyncio.gather(
                hub.deliver("slash_commands", {"command": "/x"}, accepts=True),
                ack_one(client, f"from {index}"),
            )
            assert answer == {"text": f"from {index}"}
            assert envelope["type"] == "slash_commands" and envelope["payload"] == {"command": "/x"}
            assert envelope["accepts_response_payload"] is True
        for client in clients:
            await client.close()


def test_envelope_payloads_are_the_bodies_slack_would_post() -> None:
    slash = b"command=%2Fincident&text=status&user_id=U0IC&response_url=http%3A%2F%2Fx"
    assert envelope_of(slash, "application/x-www-form-urlencoded") == (
        "slash_commands",
        {"command": "/incident", "text": "status", "user_id": "U0IC", "response_url": "http://x"},
        True,
    )
    submission = b"payload=%7B%22type%22%3A%22view_submission%22%7D"
    assert envelope_of(submission, "application/x-www-form-urlencoded") == (
        "interactive",
        {"type": "view_submission"},
        True,
    )
    press = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    assert envelope_of(press, "application/x-www-form-urlencoded")[::2] == ("interactive", False)
    event = b'{"type":"event_callback","event":{"type":"reaction_added"}}'
    assert envelope_of(event, "application/json")[:2] == (
        "events_api",
        {"type": "event_callback", "event": {"type": "reaction_added"}},
    )


# ------------------------------------------------------------ the real bot over Socket Mode


async def test_a_whole_incident_over_socket_mode(database_url: str) -> None:
    async with running(database_url, transport="socket") as h:
        assert h.sockets is not None and len(h.sockets.live()) == 1
        status, _ = await h.alert("alertmanager", FIRING)
        assert status == 202
        room = await war_room(h)
        ack = await h.slash("/incident status", user="U0IC", channel=room.name)
        assert ack.status == 200
        await said(h, "U0IC", "State: *")
        intro = next(m for m in room.messages if m.ts == room.pins[0])
        pressed = await h.press(intro, "incident_ack", user="U0ONCALL")
        assert pressed.status == 200 and pressed.text == ""
        await eventually(lambda: room_says(room, "acknowledged* by <@U0ONCALL>"))
        await h.press(intro, "incident_update", user="U0IC")
        view = await eventually(lambda: next(iter(h.ws.views.values()), None))
        empty = await h.submit(view, {("update", "text"): "   "}, user="U0IC")
        assert empty.status == 200 and empty.json()["response_action"] == "errors"
        posted = await h.submit(view, {("update", "text"): "Failover done"}, user="U0IC")
        assert posted.status == 200 and posted.text == ""
        await eventually(lambda: room_says(room, "Failover done"))
        kinds = [e["type"] for e in h.sockets.delivered]
        assert kinds == ["slash_commands"] + ["interactive"] * 4
        assert h.sockets.timeouts == []
        assert await slack_events_posts(h) == 0  # Slack posts nothing to a Socket Mode app


async def test_replicas_each_hold_a_connection_and_share_the_envelopes(sqlite_url: str) -> None:
    async with running(sqlite_url, transport="socket", replicas=2) as h:
        assert h.sockets is not None and len(h.sockets.live()) == 2
        for _ in range(4):
            ack = await h.slash("/incident nope")
            assert ack.status == 200 and "Usage:" in ack.json()["text"]
        assert [c.envelopes for c in h.sockets.live()] == [2, 2]  # round-robin
        assert len(h.sockets.delivered) == 4 and h.sockets.timeouts == []


async def test_the_page_acts_over_the_socket_and_posts_nothing(sqlite_url: str) -> None:
    async with running(sqlite_url, transport="socket") as h:
        assert h.sockets is not None
        general = h.channel("general")
        page = await page_act(
            h, "command", {"user": "U0ONCALL", "channel": general.id, "text": "/incident nope"}
        )
        assert "Usage:" in page  # the slash command's ack payload, shown like an HTTP body
        await page_act(
            h, "command", {"user": "U0ONCALL", "channel": general.id, "text": "/incident help"}
        )
        await eventually(lambda: [t for t in h.ephemerals("U0ONCALL") if "/incident" in t])
        message = general.messages[-1]
        await page_act(
            h,
            "react",
            {"user": "U0IC", "channel": general.id, "message_ts": message.ts, "name": "eyes"},
        )
        kinds = [e["type"] for e in h.sockets.delivered]
        assert kinds == ["slash_commands", "slash_commands", "events_api"]
        assert h.sockets.timeouts == []
        assert await slack_events_posts(h) == 0


async def test_the_bot_reconnects_when_the_sandbox_refreshes_or_drops_it(sqlite_url: str) -> None:
    async with running(sqlite_url, transport="socket") as h:
        hub = h.sockets
        assert hub is not None
        hub.refresh_grace = 30.0  # the bot must move on its own, not wait to be closed
        first = hub.live()[0]
        await hub.refresh()  # Slack's `disconnect` (refresh_requested)
        await eventually(lambda: hub.accepted == 2 and hub.live() and hub.live()[0] is not first)
        await eventually(lambda: first not in hub.connections)  # the bot closed the old one
        assert "Usage:" in (await h.slash("/incident nope")).json()["text"]
        await hub.close_all()  # dropped without a word
        await eventually(lambda: hub.accepted == 3 and len(hub.live()) == 1)
        ack = await h.slash("/incident nope")
        assert ack.status == 200 and "Usage:" in ack.json()["text"]


async def test_an_unacked_envelope_is_slacks_timeout(sqlite_url: str) -> None:
    async with running(sqlite_url, transport="socket") as h:
        hub = h.sockets
        assert hub is not None
        hub.ack_timeout = 0.5
        # The bot registers no /nosuch command: bolt answers 404, so nothing acks it.
        ack = await h.slash("/nosuch thing")
        assert ack.status == 504 and ack.text.startswith("operation_timeout")
        assert [e["payload"]["command"] for e in hub.timeouts] == ["/nosuch"]
        general = h.channel("general")
        page = await page_act(
            h, "command", {"user": "U0ONCALL", "channel": general.id, "text": "/nosuch"}
        )
        assert "failed with the error &#34;operation_timeout&#34;" in page or (
            'failed with the error "operation_timeout"' in page
        )
        assert len(hub.timeouts) == 2


# ------------------------------------------------------------ the embedded sandbox


async def test_socket_mode_under_the_sandbox_mount_of_warroom_serve(sqlite_url: str) -> None:
    ws = default_workspace(time.time())
    sock = bound_socket()
    base = url_of(sock)
    runtime = dataclasses.replace(runtime_for(sqlite_url, "unused"), sandbox=True)
    runtime = prepare_sandbox(runtime, ws, base)
    assert runtime.secrets.slack_app_token is None  # the bot itself stays on HTTP
    runner = web.AppRunner(create_app(runtime, sandbox_workspace=ws), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        async with aiohttp.ClientSession() as http:
            opened = await connections_open(http, f"{base}/sandbox/api", ws.app_token)
            assert opened["url"].startswith(f"{base.replace('http', 'ws')}/sandbox/socket/")
            async with http.ws_connect(opened["url"]) as app_socket:
                assert (await app_socket.receive_json(timeout=5))["type"] == "hello"
                general = ws.channel_by_name("general")
                assert general is not None

                async def ack_it() -> dict[str, Any]:
                    envelope: dict[str, Any] = await app_socket.receive_json(timeout=5)
                    reply = {"text": "hello from the socket"}
                    await app_socket.send_json(
                        {"envelope_id": envelope["envelope_id"], "payload": reply}
                    )
                    return envelope

                form = {"user": "U0ONCALL", "channel": general.id, "text": "/incident help"}
                act = http.post(f"{base}/sandbox/command", data=form)
                envelope, resp = await asyncio.gather(ack_it(), act)
                async with resp:
                    assert "hello from the socket" in await resp.text()
                assert envelope["payload"]["command"] == "/incident"
                assert envelope["payload"]["response_url"].startswith(f"{base}/sandbox/response/")
    finally:
        await runner.cleanup()


async def test_a_hub_without_connections_refuses_to_deliver() -> None:
    hub = SocketHub(default_workspace(time.time()), time.time)
    from bot.sandbox.socket_mode import NotConnected, deliver_body

    with pytest.raises(NotConnected):
        await hub.deliver("events_api", {}, accepts=False)
    status, text, error = await deliver_body(hub, b"{}", "application/json")
    assert (status, text) == (None, "") and error and "no live Socket Mode connection" in error
