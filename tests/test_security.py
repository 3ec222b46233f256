"""Security, the gaps the other suites leave: Slack replays and tampered button presses, the
bearer token on every intake, mention and link injection through Alertmanager/Grafana alerts
and through every command's arguments, secrets absent from every log record, and backends
that redirect elsewhere (never followed).

Already covered elsewhere, so not repeated here: the signature check's edges
(test_signature.py), unsigned/tampered/stale slash commands over HTTP
(test_http_endpoints.py), Grafana HMAC (test_grafana_hmac.py), the permission matrix
(test_permissions.py, test_confirmed_commands.py), the backend client's own redirect refusal
(test_backend_client.py), hostile generic alerts and declare titles (test_alert_routing.py,
test_declare.py).
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.config.backends import BackendSettings
from bot.config.settings import ServerSettings, Settings
from bot.db.models import Alert, AlertGroup
from bot.infra.logs import JsonFormatter, Redactor
from bot.sandbox.demo_backends import DemoBackends, create_demo_backends_app
from bot.sandbox.slack_requests import FORM, block_actions_body, signed_headers, slash_command_body
from bot.sandbox.web_api import new_response_url
from bot.sandbox.workspace import Message
from bot.web import routes
from tests.db_reads import incidents, rows
from tests.harness import (
    ALERT_TOKEN,
    SIGNING_SECRET,
    Ack,
    Harness,
    bound_socket,
    eventually,
    running,
    url_of,
)
from tests.ops_support import allowed, answer, ops_settings
from tests.payloads import FIRING, GRAFANA
from tests.settling import settled

HOSTILE = "<!channel> <!here> <@U123> <https://evil.example|click> @everyone &amp; <!subteam^S1>"
LIVE = ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil", "<!subteam")
BROADCASTS = ("@everyone", "@here", "@channel")


# --- helpers --------------------------------------------------------------------------


def mrkdwn_texts(node: Any) -> list[str]:
    """Texts Slack parses for mentions and links: `mrkdwn` objects (plain_text is literal)."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" and "text" in node else []
    return own + [t for value in node.values() for t in mrkdwn_texts(value)]


def parsed_texts(h: Harness) -> list[tuple[str, str]]:
    """(where, text) for everything the bot wrote that Slack would parse for mentions."""
    found: list[tuple[str, str]] = []
    for channel in h.ws.channels.values():
        found += [(f"#{channel.name} topic", channel.topic), (f"#{channel.name}", channel.purpose)]
        for message in channel.messages:
            if message.user != h.ws.bot_user_id:
                continue
            for text in (message.text, *mrkdwn_texts(message.blocks)):
                found.append((f"#{channel.name} {message.ts}", text))
    return found


def assert_inert(where: str, text: str) -> None:
    for token in LIVE:
        assert token not in text, f"live {token} in {where}: {text[:300]}"
    for word in BROADCASTS:
        assert word not in text, f"bare {word} in {where}: {text[:300]}"


async def stored_alerts(database_url: str) -> list[Any]:
    return await rows(database_url, select(Alert.__table__))


async def groups(database_url: str) -> list[Any]:
    return await rows(database_url, select(AlertGroup.__table__).order_by(AlertGroup.id))


# --- Slack signatures: replays and tampered interactivity -----------------------------


async def test_a_replayed_request_is_refused_once_its_window_has_passed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(database_url) as h:
        body = slash_command_body(
            h.ws,
            command="/incident",
            text="declare critical Replay me",
            user_id="U0ONCALL",
            channel_id=h.channel("general").id,
            response_url=f"{h.sandbox_url}/response/none",
            trigger_id="t1",
        )
        headers = signed_headers(body, int(time.time()), SIGNING_SECRET, FORM)
        url = f"{h.bot_url}/slack/events"
        async with h.http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        await eventually(lambda: incidents(database_url))
        # The same bytes and headers, captured and sent again 5 min 1 s later.
        later = types.SimpleNamespace(time=lambda: time.time() + 301, monotonic=time.monotonic)
        monkeypatch.setattr(routes, "time", later)
        async with h.http.post(url, data=body, headers=headers) as response:
            assert response.status == 401
            assert "stale" in (await response.json())["error"]
        monkeypatch.undo()
        await settled(h)
        assert len(await incidents(database_url)) == 1


async def _press_body(h: Harness, message: Message, action_id: str, user: str) -> bytes:
    button = next(
        {**element, "block_id": block.get("block_id", "")}
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    )
    token = new_response_url(h.ws, channel=message.channel, user=user, now=time.time())
    return block_actions_body(
        h.ws,
        user_id=user,
        channel_id=message.channel,
        message=message,
        action=button,
        response_url=f"{h.sandbox_url}/response/{token}",
        trigger_id=h.trigger(),
    )


async def _post(h: Harness, body: bytes, headers: dict[str, str]) -> Ack:
    async with h.http.post(f"{h.bot_url}/slack/events", data=body, headers=headers) as response:
        return Ack(response.status, await response.text())


async def test_a_tampered_or_missigned_button_press_does_nothing(database_url: str) -> None:
    async with running(database_url) as h:
        await h.alert("generic", {"queue": "rentguy", "severity": "warning", "message": "slow"})
        [post] = await eventually(lambda: h.bot_messages("alerts-queues"))
        body = await _press_body(h, post, "alert_ack", "U0ONCALL")
        headers = signed_headers(body, int(time.time()), SIGNING_SECRET, FORM)
        # Someone who saw the request swaps in another presser, or signs their own.
        forged = body.replace(b"U0ONCALL", b"U0CTO")
        assert forged != body
        assert (await _post(h, forged, headers)).status == 401
        wrong = signed_headers(forged, int(time.time()), "not-the-secret", FORM)
        assert (await _post(h, forged, wrong)).status == 401
        moved = signed_headers(body, int(time.time()) + 1, SIGNING_SECRET, FORM)
        moved["X-Slack-Request-Timestamp"] = str(int(time.time()) + 2)
        assert (await _post(h, body, moved)).status == 401
        await settled(h)
        [group] = await groups(database_url)
        assert group.acknowledged_by is None
        # The genuine press works: the refusals above were the signature's doing.
        assert (await _post(h, body, headers)).status == 200

        async def acknowledged() -> str | None:
            [group] = await groups(database_url)
            return str(group.acknowledged_by) if group.acknowledged_by else None

        assert await eventually(acknowledged) == "U0ONCALL"
        await settled(h)


# --- the alert intake's bearer token --------------------------------------------------


@pytest.mark.parametrize("source", ["alertmanager", "grafana"])
async def test_every_intake_needs_the_bearer_token(database_url: str, source: str) -> None:
    small = Settings(server=replace(ServerSettings(), max_body_bytes=4096))
    body = json.dumps(FIRING if source == "alertmanager" else GRAFANA).encode()
    basic = base64.b64encode(f"warroom:{ALERT_TOKEN}".encode()).decode()
    async with running(database_url, settings=small) as h:
        url = f"{h.bot_url}/alerts/{source}"
        refused: list[tuple[str, dict[str, str], bytes]] = [
            ("", {}, body),
            ("", {"Authorization": "Bearer"}, body),
            ("", {"Authorization": "Bearer wrong-token"}, body),
            ("", {"Authorization": f"Bearer {ALERT_TOKEN[:-1]}"}, body),
            ("", {"Authorization": f"Bearer {ALERT_TOKEN} {ALERT_TOKEN}"}, body),
            ("", {"Authorization": f"Basic {basic}"}, body),
            ("", {"X-Alert-Token": ALERT_TOKEN}, body),
            (f"?token={ALERT_TOKEN}", {}, body),
            (f"?access_token={ALERT_TOKEN}", {}, body),
            # Credentials are checked before anything is read: no 400 or 413 hints.
            ("", {"Authorization": "Bearer wrong-token"}, b"{not json"),
            ("", {"Authorization": "Bearer wrong-token"}, b"x" * 10_000),
        ]
        for query, headers, data in refused:
            sent = {"Content-Type": "application/json", **headers}
            async with h.http.post(url + query, data=data, headers=sent) as response:
                text = await response.text()
                assert response.status == 401, (query, headers, text)
                assert "bearer token" in json.loads(text)["error"]
                assert ALERT_TOKEN not in text and "wrong-token" not in text
        assert await stored_alerts(database_url) == []
        # The same request with the token is taken (the scheme is case-insensitive).
        sent = {"Content-Type": "application/json", "Authorization": f"bearer {ALERT_TOKEN}"}
        async with h.http.post(url, data=body, headers=sent) as response:
            assert response.status == 202, await response.text()
        await settled(h)


# --- mention and link injection -------------------------------------------------------


def hostile_alertmanager() -> dict[str, Any]:
    body = copy.deepcopy(FIRING)
    body["groupKey"] = "{}:{alertname=" + HOSTILE + "}"
    for alert in body["alerts"]:
        alert["labels"]["alertname"] = HOSTILE
        alert["labels"]["service"] = "<@U123> &amp; <!here>"
        alert["labels"]["<!channel>"] = "@everyone"
        alert["annotations"] = {
            "summary": HOSTILE,
            "description": "see <https://evil.example|the fix> or ping <!subteam^S1>",
            "runbook_url": "https://evil.example/x|<!channel>",
        }
        alert["generatorURL"] = "https://evil.example/>|<!here>"
    return body


def hostile_grafana() -> dict[str, Any]:
    body = copy.deepcopy(GRAFANA)
    body["groupKey"] = "{}:{alertname=" + HOSTILE + "}"
    for alert in body["alerts"]:
        # No queue label: a second failing queue would join the first one's war room.
        alert["labels"] = {"severity": "warning", "alertname": HOSTILE, "<!here>": "<@U123>"}
        alert["annotations"] = {"summary": HOSTILE, "description": "<@U123> @here"}
        alert["valueString"] = HOSTILE
        alert["dashboardURL"] = "javascript:alert(1)"
        alert["panelURL"] = "https://evil.example/<!channel>"
    return body


async def test_alertmanager_and_grafana_text_never_pings_or_links(database_url: str) -> None:
    async with running(database_url) as h:
        assert (await h.alert("alertmanager", hostile_alertmanager()))[0] == 202
        assert (await h.alert("grafana", hostile_grafana()))[0] == 202

        async def room_ready() -> list[Any] | None:
            stored = [i for i in await incidents(database_url) if i.channel_id]
            ready = [i for i in stored if h.ws.channels[i.channel_id].pins]
            return ready or None

        [incident] = await eventually(room_ready, within=20)
        await eventually(lambda: h.bot_messages("dr-war-room"))
        await eventually(lambda: h.bot_messages("alerts-queues"))
        await settled(h)
        texts = parsed_texts(h)
        room = h.ws.channels[incident.channel_id]
        assert any(where.startswith(f"#{room.name} ") for where, _ in texts)
        assert any("&lt;!channel&gt;" in text for _, text in texts)  # shown, not parsed
        for where, text in texts:
            assert_inert(where, text)
        for channel in h.ws.channels.values():
            for bookmark in channel.bookmarks:
                link = str(bookmark.get("link", ""))
                assert link.startswith(("http://", "https://")) and "evil.example" not in link


async def test_command_arguments_never_ping_or_link(database_url: str) -> None:
    async with demo_backends_on_loopback() as backend:
        settings = ops_settings(backend.url, allowed("U0ONCALL"))
        async with running(database_url, settings=settings) as h:
            acks: list[tuple[str, Ack]] = []

            async def run(text: str, channel: str = "general") -> None:
                acks.append((text, await h.slash(text, channel=channel)))

            # Refused arguments are quoted back in the usage error: escaped.
            for text in (
                "/queue-status <!here>",
                f"/queue-status {HOSTILE}",
                "/integration-status <@U123>",
                "/pause-campaign <!channel>",
                "/resume-campaign <https://evil.example|click>",
                "/replay-deadletter <!channel> --dry-run",
                "/replay-deadletter whatsapp-outbound --limit <!here>",
                "/statuspage-draft <!here>",
                "/incident <!channel>",
                f"/incident timeline {HOSTILE}",
                f"/incident stats {HOSTILE}",
                f"/incident export {HOSTILE}",
                f"/incident declare {HOSTILE}",
            ):
                await run(text)
            # Accepted free text ends up in prompts, the channel and the war room: escaped.
            await run(f"/pause-campaign cmp-1001 {HOSTILE}")
            prompt = await answer(h, "U0ONCALL", "op_confirm")
            await h.press(prompt, "op_confirm")
            await answer(h, "U0ONCALL", "Paused campaign")
            await run("/incident declare critical Injection check")
            stored = await eventually(lambda: _first_room(h, database_url), within=20)
            room = h.ws.channels[stored.channel_id].name
            for text in (
                f"/incident update {HOSTILE}",
                f"/incident note {HOSTILE}",
                f"/incident role comms {HOSTILE}",
                f"/incident severity {HOSTILE}",
                f"/incident mitigated {HOSTILE}",
                f"/incident resolve {HOSTILE}",
            ):
                await run(text, channel=room)
            await eventually(lambda: any("resolved" in m.text for m in h.bot_messages(room)))
            await settled(h)
            for text, ack in acks:
                assert ack.status == 200, (text, ack)
                assert_inert(f"the ack of {text}", ack.text)
            assert any("&lt;!here&gt;" in ack.text for _, ack in acks)
            for where, text in parsed_texts(h):
                assert_inert(where, text)


async def _first_room(h: Harness, database_url: str) -> Any:
    stored = [i for i in await incidents(database_url) if i.channel_id]
    return stored[0] if stored and h.ws.channels[stored[0].channel_id].pins else None


# --- secrets never reach a log record -------------------------------------------------


@dataclass
class Backend:
    url: str
    state: DemoBackends
    headers: list[dict[str, str]] = field(default_factory=list)


@asynccontextmanager
async def demo_backends_on_loopback() -> AsyncIterator[Backend]:
    """The demo backends, recording the headers of every request they get."""
    state = DemoBackends()
    app = create_demo_backends_app(state)
    backend = Backend("", state)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        backend.headers.append(dict(request.headers))
        return await handler(request)

    app.middlewares.append(record)
    sock = bound_socket()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    backend.url = url_of(sock)
    try:
        yield backend
    finally:
        await runner.cleanup()


BACKEND_KEY = "backend-api-key-7f3e9a1c55d2"
ROUTING_KEY = "pagerduty-routing-key-4b8e21d0"


def with_db_password(database_url: str) -> tuple[str, str | None]:
    """The URL with a known password (PostgreSQL here trusts loopback, so any is accepted)."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite"):
        return database_url, None
    if url.password:
        return database_url, str(url.password)
    password = "db-password-91c4e7aa20"
    return url.set(password=password).render_as_string(hide_password=False), password


async def test_secrets_never_reach_a_log_record(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WARROOM_TEST_BACKEND_KEY", BACKEND_KEY)
    url, db_password = with_db_password(database_url)
    secrets = ["xoxb-sandbox-token", SIGNING_SECRET, ALERT_TOKEN, BACKEND_KEY, ROUTING_KEY]
    secrets += [db_password] if db_password else []
    caplog.set_level(logging.DEBUG)
    async with demo_backends_on_loopback() as backend:
        keyed = BackendSettings(
            base_url=backend.url,
            auth_header="X-Api-Key",
            auth_env="WARROOM_TEST_BACKEND_KEY",
            timeout=timedelta(seconds=1),
            retries=0,
        )
        backend.state.set_switch("integrations", "error500")  # a failing call
        settings = Settings(backends={n: keyed for n in ("integrations", "queues", "campaigns")})
        async with running(url, settings=settings) as h:
            smoke = {"type": "smoke", "message": "alert-test"}
            assert (await h.alert("generic", smoke))[0] == 202
            assert (await h.alert("generic", smoke, token="wrong"))[0] == 401
            pagerduty = {
                "routing_key": ROUTING_KEY,
                "event_action": "trigger",
                "dedup_key": "secrets-check",
                "payload": {"summary": "Insurer API down", "severity": "critical", "source": "x"},
            }
            assert (await h.alert("generic", pagerduty))[0] == 202
            await h.slash("/queue-status")
            await answer(h, "U0ONCALL", "rentguy")
            await h.slash("/integration-status --force")
            await answer(h, "U0ONCALL", "500")
            forged = await h.post_signed(b"command=%2Fincident&text=help", FORM, secret="wrong")
            assert forged.status == 401
            await settled(h)
            async with h.http.get(f"{h.bot_url}/metrics") as response:
                metrics = await response.text()
            posted = json.dumps([(m.text, m.blocks) for _, m in all_messages(h)])
    assert any(hdrs.get("X-Api-Key") == BACKEND_KEY for hdrs in backend.headers)
    assert caplog.records
    unredacted = JsonFormatter(Redactor([]))  # what a line would say with no redaction at all
    for record in caplog.records:
        line = unredacted.format(record)
        raw = repr(vars(record))
        for secret in secrets:
            assert secret not in line and secret not in raw, (secret, record.name, line[:300])
    for secret in secrets:
        assert secret not in metrics and secret not in posted, secret


def all_messages(h: Harness) -> list[tuple[str, Message]]:
    return [(c.name, m) for c in h.ws.channels.values() for m in c.messages]


# --- SSRF: a backend redirecting elsewhere --------------------------------------------


@dataclass
class Recorder:
    url: str = ""
    hits: list[str] = field(default_factory=list)


@asynccontextmanager
async def http_server(answer_with: Handler) -> AsyncIterator[Recorder]:
    recorder = Recorder()

    async def handle(request: web.Request) -> web.StreamResponse:
        recorder.hits.append(f"{request.method} {request.path}")
        return await answer_with(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    sock = bound_socket()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    recorder.url = url_of(sock)
    try:
        yield recorder
    finally:
        await runner.cleanup()


async def test_a_backend_redirecting_to_another_host_is_never_followed(
    database_url: str,
) -> None:
    async def ok(_request: web.Request) -> web.StreamResponse:
        return web.json_response({"queues": [], "integrations": [], "status": "running"})

    async with http_server(ok) as elsewhere:
        port = elsewhere.url.rsplit(":", 1)[1]
        statuses = {"/metrics/queues": 302, "/api/integrations/status": 307}

        async def redirect(request: web.Request) -> web.StreamResponse:
            status = statuses.get(request.path, 308)
            target = f"http://localhost:{port}{request.path_qs}"
            return web.Response(status=status, headers={"Location": target})

        async with http_server(redirect) as origin:
            settings = ops_settings(origin.url, allowed("U0ONCALL"), retries=0)
            async with running(database_url, settings=settings) as h:
                for command, path in (
                    ("/queue-status", "GET /metrics/queues"),
                    ("/integration-status --force", "GET /api/integrations/status"),
                ):
                    await h.slash(command)
                    await said_redirect(h)
                    assert path in origin.hits, origin.hits
                # A mutating call redirected with 308 (method and body kept) is not replayed.
                await h.slash("/pause-campaign cmp-1001 storm")
                await h.press(await answer(h, "U0ONCALL", "op_confirm"), "op_confirm")
                await said_redirect(h)
                assert "POST /campaigns/cmp-1001/stop" in origin.hits, origin.hits
                await settled(h)
        assert elsewhere.hits == []


async def said_redirect(h: Harness) -> None:
    """The newest answer names the redirect and the fix; then #general is cleared."""
    said = await answer(h, "U0ONCALL", "redirect")
    shown = said.text + json.dumps(said.blocks)
    assert "does not follow redirects" in shown and "base_url" in shown, shown[:300]
    h.channel("general").messages.clear()
