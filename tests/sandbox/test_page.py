"""The sandbox page drives a real (fake) bot over HTTP with requests Slack would send."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import slack_requests as sr
from bot.sandbox.page import PageConfig, add_page_routes, alert_outcome
from bot.sandbox.workspace import Channel, Message, Workspace, default_workspace

SECRET = "sandbox-signing-secret"
ALERT_TOKEN = "alert-token-123"


@dataclass
class FakeBot:
    """Records what reaches /slack/events and /alerts/generic; answers as told."""

    status: int = 200
    body: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    alerts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    verifier: SignatureVerifier = field(default_factory=lambda: SignatureVerifier(SECRET))

    async def events(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = self.verifier.is_valid(
            body,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
        )
        if not ok:
            return web.Response(status=401, text="invalid signature")
        self.requests.append((dict(request.headers), body))
        return web.Response(status=self.status, text=self.body, content_type="application/json")

    async def alert(self, request: web.Request) -> web.Response:
        self.alerts.append((dict(request.headers), await request.read()))
        if request.headers.get("Authorization") != f"Bearer {ALERT_TOKEN}":
            return web.json_response({"error": "bad token"}, status=401)
        return web.json_response({"status": "accepted"}, status=202)

    def payload(self, index: int = -1) -> dict[str, Any]:
        form = parse_qs(self.requests[index][1].decode())
        return dict(json.loads(form["payload"][0]))

    def form(self, index: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[index][1].decode()).items()}


@dataclass
class Env:
    ws: Workspace
    bot: FakeBot
    client: httpx.AsyncClient
    root: str

    async def follow(self, resp: httpx.Response) -> httpx.Response:
        """Follow the page's 303 (an absolute path) back to the page."""
        assert resp.status_code == 303, resp.text
        return await self.client.get(self.root + resp.headers["location"])

    def channel(self, name: str) -> str:
        channel = self.ws.channel_by_name(name)
        assert channel is not None
        return channel.id


@pytest.fixture
async def bot_server() -> AsyncIterator[tuple[FakeBot, BaseTestServer]]:
    bot = FakeBot()
    app = web.Application()
    app.router.add_post("/slack/events", bot.events)
    app.router.add_post("/alerts/generic", bot.alert)
    async with TestServer(app) as server:
        yield bot, server


async def _page(
    bot: FakeBot, events_url: str, alerts_url: str, timezone: str = "UTC"
) -> AsyncIterator[Env]:
    ws = default_workspace(time.time())
    page = web.Application()
    add_page_routes(
        page,
        ws,
        time.time,
        PageConfig(
            public_url="http://127.0.0.1:1/sandbox",
            events_url=events_url,
            signing_secret=SECRET,
            alerts_url=alerts_url,
            alert_token=ALERT_TOKEN,
            timezone=timezone,
        ),
    )
    root = web.Application()
    root.add_subapp("/sandbox", page)
    async with (
        TestServer(root) as server,
        httpx.AsyncClient(base_url=str(server.make_url("/sandbox")), timeout=10) as client,
    ):
        yield Env(ws, bot, client, str(server.make_url("")).rstrip("/"))


@pytest.fixture
async def env(bot_server: tuple[FakeBot, BaseTestServer]) -> AsyncIterator[Env]:
    bot, server = bot_server
    events, alerts = server.make_url("/slack/events"), server.make_url("/alerts/generic")
    async for item in _page(bot, str(events), str(alerts)):
        yield item


@pytest.fixture
async def env_bot_down() -> AsyncIterator[Env]:
    async with TestServer(web.Application()) as gone:
        url = str(gone.make_url("/slack/events"))
    async for item in _page(FakeBot(), url, url.replace("slack/events", "alerts/generic")):
        yield item


def _post_message(ws: Workspace, channel_id: str, **kw: Any) -> Message:
    message = Message(ts=f"{time.time():.6f}", channel=channel_id, user="U0BOT", **kw)
    ws.channels[channel_id].messages.append(message)
    return message


def pt(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def options(*values: str) -> list[dict[str, Any]]:
    return [{"text": pt(v.title()), "value": v} for v in values]


INCIDENT_BLOCKS = [
    {"type": "header", "text": pt("SEV1 WhatsApp sends failing")},
    {
        "type": "section",
        "block_id": "summary",
        "text": md("Owner <@U0IC> <script>alert(1)</script> <!channel>"),
        "fields": [md("*Queue*\nwhatsapp-outbound"), md("*Backlog*\n1840")],
    },
    {"type": "divider"},
    {"type": "context", "elements": [md("opened by Warroom")]},
    {"type": "image", "image_url": "https://example.com/g.png", "alt_text": "backlog graph"},
    {
        "type": "actions",
        "block_id": "incident_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "incident_ack",
                "text": pt("Acknowledge"),
                "value": "INC-1",
            },
            {
                "type": "static_select",
                "action_id": "incident_severity",
                "placeholder": pt("Severity"),
                "options": options("warning", "critical"),
            },
        ],
    },
]


async def test_page_renders_blocks_and_escapes_hostile_text(env: Env) -> None:
    cid = env.channel("dr-war-room")
    ch = env.ws.channels[cid]
    ch.topic = "WhatsApp <b>down</b>"
    ch.bookmarks.append({"title": "Runbook", "link": "javascript:alert(1)"})
    msg = _post_message(env.ws, cid, text="fallback", blocks=INCIDENT_BLOCKS)
    ch.pins.append(msg.ts)
    _post_message(env.ws, cid, text="<img src=x onerror=alert(1)>")
    _post_message(env.ws, cid, text="secret", ephemeral_to="U0CTO")

    resp = await env.client.get("/", params={"channel": cid, "user": "U0ONCALL"})
    assert resp.status_code == 200
    html = resp.text
    for visible in ("SEV1 WhatsApp sends failing", "whatsapp-outbound", "opened by Warroom"):
        assert visible in html
    assert "[image: backlog graph]" in html
    assert "@ic-oncall" in html and "@channel" in html
    assert "<hr>" in html and "Acknowledge" in html
    assert 'name="action_id" value="incident_ack"' in html
    assert 'action="/sandbox/action"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>down</b>" not in html and "WhatsApp &lt;b&gt;down&lt;/b&gt;" in html
    assert "javascript:" not in html
    assert "secret" not in html  # someone else's ephemeral message
    assert "fire a sample critical alert" in html and "fire a sample warning alert" in html


async def test_sidebar_marks_war_rooms_archived_and_dms(env: Env) -> None:
    now = int(time.time())
    for channel in (
        Channel("C0WAR", "inc-20250101-whatsapp", now, "U0BOT"),
        Channel("C0OLD", "inc-20240101-pms", now, "U0BOT", is_archived=True),
        Channel("D0DM", "D0DM", now, "U0BOT", is_im=True, members=["U0BOT", "U0ONCALL"]),
    ):
        env.ws.channels[channel.id] = channel
    html = (await env.client.get("/", params={"channel": "C0WAR"})).text
    assert "war room</span>" in html and "archived</span>" in html and "DM</span>" in html
    assert "Warroom" in html  # the DM is named after the other member


async def test_command_reaches_bot_signed_with_slack_fields(env: Env) -> None:
    cid = env.channel("dr-war-room")
    resp = await env.client.post(
        "/command",
        data={
            "user": "U0ONCALL",
            "channel": cid,
            "text": "/incident declare critical WhatsApp sends failing",
        },
    )
    assert resp.status_code == 303
    location = urlsplit(resp.headers["location"])
    assert location.path == "/sandbox/"
    assert parse_qs(location.query)["channel"] == [cid]

    headers, _ = env.bot.requests[-1]
    assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = env.bot.form()
    assert form["command"] == "/incident"
    assert form["text"] == "declare critical WhatsApp sends failing"
    assert form["user_id"] == "U0ONCALL" and form["user_name"] == "oncall"
    assert form["channel_id"] == cid and form["channel_name"] == "dr-war-room"
    assert form["team_id"] == env.ws.team_id and form["team_domain"] == env.ws.domain
    assert form["api_app_id"] == env.ws.app_id
    assert form["is_enterprise_install"] == "false"
    assert set(form) >= {"token", "trigger_id", "response_url"}
    assert form["trigger_id"] in env.ws.triggers
    token = form["response_url"].rsplit("/", 1)[1]
    assert form["response_url"] == f"http://127.0.0.1:1/sandbox/response/{token}"
    entry = env.ws.response_urls[token]
    assert (entry.channel, entry.user, entry.uses) == (cid, "U0ONCALL", 0)


async def test_bot_rejection_and_ephemeral_ack_are_shown(env: Env) -> None:
    cid = env.channel("general")
    env.bot.status = 401
    resp = await env.client.post(
        "/command", data={"user": "U0IC", "channel": cid, "text": "/queue-status"}
    )
    page = await env.follow(resp)
    assert page.status_code == 200 and "bot answered 401" in page.text

    env.bot.status, env.bot.body = 200, json.dumps({"text": "Usage: /queue-status [queue] <x>"})
    resp = await env.client.post(
        "/command", data={"user": "U0IC", "channel": cid, "text": "/queue-status --bad"}
    )
    page = await env.follow(resp)
    assert "Only visible to you" in page.text
    assert "Usage: /queue-status [queue] &lt;x&gt;" in page.text


async def test_bot_down_gives_a_readable_message(env_bot_down: Env) -> None:
    env = env_bot_down
    resp = await env.client.post(
        "/command",
        data={"user": "U0IC", "channel": env.channel("general"), "text": "/incident help"},
    )
    assert resp.status_code == 303
    page = await env.follow(resp)
    assert page.status_code == 200 and "bot unreachable" in page.text
    resp = await env.client.post("/alert", data={"severity": "critical"})
    page = await env.follow(resp)
    assert page.status_code == 200 and "alert intake unreachable" in page.text


async def test_not_a_slash_command_is_refused_without_calling_the_bot(env: Env) -> None:
    resp = await env.client.post(
        "/command", data={"user": "U0IC", "channel": env.channel("general"), "text": "hi"}
    )
    assert "Type a slash command" in (await env.follow(resp)).text
    assert env.bot.requests == []


async def test_button_sends_block_actions(env: Env) -> None:
    cid = env.channel("dr-war-room")
    msg = _post_message(env.ws, cid, text="incident", blocks=INCIDENT_BLOCKS)
    form = {"user": "U0IC", "channel": cid, "message_ts": msg.ts}
    action = {"block_id": "incident_actions", "action_id": "incident_ack", "value": "INC-1"}
    resp = await env.client.post("/action", data=form | action)
    assert resp.status_code == 303
    payload = env.bot.payload()
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0IC" and payload["team"]["id"] == env.ws.team_id
    assert payload["channel"] == {"id": cid, "name": "dr-war-room"}
    assert payload["container"]["message_ts"] == msg.ts
    assert payload["message"]["blocks"] == INCIDENT_BLOCKS
    act = payload["actions"][0]
    assert act["action_id"] == "incident_ack" and act["block_id"] == "incident_actions"
    assert act["value"] == "INC-1" and act["type"] == "button"
    assert act["text"]["text"] == "Acknowledge" and act["action_ts"]
    assert payload["trigger_id"] in env.ws.triggers
    token = payload["response_url"].rsplit("/", 1)[1]
    assert env.ws.response_urls[token].message_ts == msg.ts

    select = {"block_id": "incident_actions", "action_id": "incident_severity"}
    await env.client.post("/action", data=form | select | {"value": "critical"})
    act = env.bot.payload()["actions"][0]
    assert act["type"] == "static_select"
    assert act["selected_option"]["value"] == "critical"

    gone = {"block_id": "x", "action_id": "nope"}
    resp = await env.client.post("/action", data=form | gone)
    assert "no longer on the message" in (await env.follow(resp)).text


MODAL = {
    "id": "V0DECLARE",
    "type": "modal",
    "callback_id": "declare_incident",
    "private_metadata": "C123",
    "title": pt("Declare incident"),
    "submit": pt("Declare"),
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": pt("Title"),
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "severity",
            "label": pt("Severity"),
            "element": {
                "type": "static_select",
                "action_id": "value",
                "options": options("critical", "warning"),
            },
        },
    ],
}


async def test_modal_is_rendered_and_submitted(env: Env) -> None:
    env.ws.views["V0DECLARE"] = dict(MODAL)
    html = (await env.client.get("/")).text
    assert "Declare incident" in html and 'name="title/value"' in html

    env.bot.body = json.dumps({"response_action": "errors", "errors": {"title": "too short"}})
    form = {
        "user": "U0IC",
        "view_id": "V0DECLARE",
        "title/value": "x",
        "severity/value": "critical",
    }
    resp = await env.client.post("/view", data=form)
    assert "V0DECLARE" in env.ws.views
    assert "title: too short" in (await env.follow(resp)).text

    env.bot.body = ""
    await env.client.post("/view", data=form | {"title/value": "WhatsApp down"})
    payload = env.bot.payload()
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U0IC"
    view = payload["view"]
    assert view["callback_id"] == "declare_incident" and view["private_metadata"] == "C123"
    values = view["state"]["values"]
    assert values["title"]["value"] == {"type": "plain_text_input", "value": "WhatsApp down"}
    assert values["severity"]["value"]["selected_option"]["value"] == "critical"
    assert "V0DECLARE" not in env.ws.views  # an empty 200 closes the modal


async def test_reaction_sends_event_callback(env: Env) -> None:
    cid = env.channel("dr-war-room")
    msg = _post_message(env.ws, cid, text="war room opened")
    form = {"user": "U0ONCALL", "channel": cid, "message_ts": msg.ts, "name": ":eyes:"}
    await env.client.post("/react", data=form)
    headers, body = env.bot.requests[-1]
    assert headers["Content-Type"].startswith("application/json")
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback" and envelope["team_id"] == env.ws.team_id
    event = envelope["event"]
    assert event["type"] == "reaction_added" and event["reaction"] == "eyes"
    assert event["item"] == {"type": "message", "channel": cid, "ts": msg.ts}
    assert event["user"] == "U0ONCALL" and event["item_user"] == "U0BOT"
    assert msg.reactions == {"eyes": ["U0ONCALL"]}
    page = (await env.client.get("/", params={"channel": cid})).text
    assert "👀 1</button>" in page and 'title=":eyes: Olivia' in page

    await env.client.post("/react", data=form | {"remove": "1"})
    assert json.loads(env.bot.requests[-1][1])["event"]["type"] == "reaction_removed"
    assert msg.reactions == {}


async def test_alert_button_posts_sample_with_bearer_token(env: Env) -> None:
    resp = await env.client.post("/alert", data={"severity": "critical", "user": "U0IC"})
    headers, body = env.bot.alerts[-1]
    assert headers["Authorization"] == f"Bearer {ALERT_TOKEN}"
    alert = json.loads(body)
    assert alert["queue"] == "whatsapp-outbound" and alert["severity"] == "critical"
    assert {"backlog", "retry_age_ms", "message"} <= set(alert)
    assert "intake answered 202" in (await env.follow(resp)).text
    await env.client.post("/alert", data={"severity": "warning"})
    assert json.loads(env.bot.alerts[-1][1])["severity"] == "warning"


def test_signature_matches_slack_verifier_and_rejects_tampering() -> None:
    ws = default_workspace(time.time())
    body = sr.event_callback_body(ws, {"type": "member_joined_channel", "user": "U0IC"}, 1.0)
    now = int(time.time())
    headers = sr.signed_headers(body, now, SECRET, sr.JSON_CONTENT)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, str(now), headers["X-Slack-Signature"])
    assert not verifier.is_valid(body + b" ", str(now), headers["X-Slack-Signature"])
    assert sr.sign(b"x", 1, "s") != sr.sign(b"x", 2, "s")


async def test_bolt_routes_every_request_the_page_sends() -> None:
    """A real bolt AsyncApp as the bot: the shapes are what Slack's own SDK dispatches on."""
    seen: list[str] = []
    api = web.Application()

    async def auth_test(request: web.Request) -> web.Response:
        ids = {"user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T0SANDBOX"}
        return web.json_response({"ok": True, "url": "https://sandbox/", **ids})

    api.router.add_post("/api/auth.test", auth_test)
    async with TestServer(api) as api_server:
        client = AsyncWebClient(token="xoxb-test", base_url=str(api_server.make_url("/api/")))
        bolt = AsyncApp(client=client, signing_secret=SECRET)

        @bolt.command("/incident")
        async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
            seen.append(f"command {command['text']}")
            await ack(text=f"declared by <@{command['user_id']}>")

        @bolt.action("incident_ack")
        async def on_ack(ack: AsyncAck, body: dict[str, Any]) -> None:
            seen.append(f"action {body['actions'][0]['value']}")
            await ack()

        @bolt.view("declare_incident")
        async def on_view(ack: AsyncAck, view: dict[str, Any]) -> None:
            seen.append(f"view {view['state']['values']['title']['value']['value']}")
            await ack()

        @bolt.event("reaction_added")
        async def on_reaction(event: dict[str, Any]) -> None:
            seen.append(f"reaction {event['reaction']}")

        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await bolt.async_dispatch(await to_bolt_request(request))
            )

        bot_app = web.Application()
        bot_app.router.add_post("/slack/events", events)
        async with TestServer(bot_app) as bot_server:
            url = str(bot_server.make_url("/slack/events"))
            async for env in _page(FakeBot(), url, url):
                cid = env.channel("dr-war-room")
                text = "/incident declare critical WhatsApp"
                resp = await env.client.post(
                    "/command", data={"user": "U0IC", "channel": cid, "text": text}
                )
                shown = (await env.follow(resp)).text
                assert 'declared by <span class="mention">@ic-oncall</span>' in shown
                msg = _post_message(env.ws, cid, text="incident", blocks=INCIDENT_BLOCKS)
                action = {"block_id": "incident_actions", "action_id": "incident_ack"}
                base = {"user": "U0IC", "channel": cid, "message_ts": msg.ts}
                await env.client.post("/action", data=base | action)
                env.ws.views["V0DECLARE"] = dict(MODAL)
                view = {
                    "view_id": "V0DECLARE",
                    "title/value": "WA down",
                    "severity/value": "warning",
                }
                await env.client.post("/view", data=base | view)
                await env.client.post("/react", data=base | {"name": "eyes"})
    assert seen[:3] == ["command declare critical WhatsApp", "action INC-1", "view WA down"]
    for _ in range(50):  # bolt runs event listeners after the ack
        if len(seen) == 4:
            break
        await asyncio.sleep(0.02)
    assert seen[3] == "reaction eyes"


def test_alert_outcome_says_what_the_intake_did() -> None:
    answer = json.dumps(
        {
            "accepted": 2,
            "groups": [
                {"action": "open_incident", "incident_id": 3, "reason": "critical alert"},
                {"action": "record", "incident_id": None, "reason": "suppressed <b>"},
            ],
        }
    )
    text = alert_outcome(202, answer)
    assert text.startswith("accepted — opened (or joined) incident #3")
    assert "recorded, not posted (suppressed <b>)" in text
    assert alert_outcome(400, '{"error": "bad"}') == 'intake answered 400 {"error": "bad"}'
    assert alert_outcome(202, "not json").startswith("intake answered 202")


async def test_page_shows_mrkdwn_as_slack_does_and_times_with_their_zone(env: Env) -> None:
    cid = env.channel("dr-war-room")
    ch = env.ws.channels[cid]
    text = (
        ":stopwatch: *Clock for incident #1* · open 0m\n• status update: due 23:27 CET\n_Updated._"
    )
    pin = _post_message(env.ws, cid, text=text)
    ch.pins.append(pin.ts)
    _post_message(env.ws, cid, text=":eyes: *Incident #1 acknowledged* by <@U0ONCALL>")
    _post_message(env.ws, cid, text="*<b>x</b>* <https://e.com/a_b_*c*|run_book> `<i>`")
    section = {"type": "section", "text": md("> *Queue* ~x~"), "fields": [pt("*not bold*")]}
    _post_message(env.ws, cid, text="fallback", blocks=[section])

    html = (await env.client.get("/", params={"channel": cid})).text
    assert "⏱️ <b>Clock for incident #1</b> · open 0m<br>• status update: due 23:27 CET<br>" in html
    assert "<i>Updated.</i>" in html
    assert "<b>Clock for incident #1</b> · open 0m • status update" in html  # the pin: one line
    assert '👀 <b>Incident #1 acknowledged</b> by <span class="mention">@oncall</span>' in html
    assert "<b>&lt;b&gt;x&lt;/b&gt;</b>" in html and "<b>x</b>" not in html
    assert (
        '<a href="https://e.com/a_b_*c*" rel="noopener noreferrer" target="_blank">run_book<'
        in html
    )
    assert "<code>&lt;i&gt;</code>" in html
    assert "<blockquote><b>Queue</b> <s>x</s></blockquote>" in html
    assert "*not bold*" in html  # a plain_text object is not mrkdwn
    when = time.strftime("%H:%M:%S", time.gmtime(float(pin.ts)))
    assert f'<span class="when">{when} UTC' in html


async def test_page_times_in_the_configured_zone(
    bot_server: tuple[FakeBot, BaseTestServer],
) -> None:
    bot, server = bot_server
    events = str(server.make_url("/slack/events"))
    async for env in _page(bot, events, events, timezone="Europe/Amsterdam"):
        cid = env.channel("general")
        msg = _post_message(env.ws, cid, text="hello")
        html = (await env.client.get("/", params={"channel": cid})).text
        local = datetime.fromtimestamp(float(msg.ts), ZoneInfo("Europe/Amsterdam"))
        assert f"{local:%H:%M:%S %Z}" in html and local.strftime("%Z") in ("CET", "CEST")
