"""The bot and the Slack sandbox as two real HTTP servers on loopback, as in production.

The bot talks to the sandbox through slack_sdk with `base_url`; tests talk to the bot the
way Slack does and read what reached "Slack" from the sandbox workspace. Slack reaches the bot
over one of its two transports (`running(..., transport=...)`): "http" (signed POSTs to
/slack/events) or "socket" (Socket Mode: the bot opens a WebSocket to the sandbox with
apps.connections.open and the sandbox pushes envelopes over it; their acks are the answers).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import aiohttp
from aiohttp import web

from bot.config.settings import RuntimeConfig, Secrets, Settings
from bot.infra.time_source import Clock
from bot.sandbox.app import create_sandbox_app
from bot.sandbox.page import PageConfig
from bot.sandbox.slack_requests import (
    block_actions_body,
    new_trigger_id,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from bot.sandbox.socket_mode import SOCKETS, SocketHub, deliver_body
from bot.sandbox.web_api import new_response_url
from bot.sandbox.workspace import Channel, Message, Workspace, default_workspace
from bot.web.app import create_app

SIGNING_SECRET = "test-signing-secret-0123456789"
ALERT_TOKEN = "test-alert-token-0123456789"
T = TypeVar("T")
TRANSPORTS = ("http", "socket")


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Ack:
    """The bot's answer to an act: the HTTP response, or over Socket Mode 200 and the ack's
    payload as JSON text ("" for a bare ack); 504 "operation_timeout…" when never acked."""

    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Harness:
    ws: Workspace
    bot_url: str
    sandbox_url: str
    runtime: RuntimeConfig
    http: aiohttp.ClientSession
    app: web.Application
    runners: list[web.AppRunner] = field(default_factory=list)
    # Every bot process sharing the database (the first is `bot_url`/`app`).
    replicas: list[tuple[str, web.Application]] = field(default_factory=list)
    transport: str = "http"
    # the sandbox's Socket Mode connections (live ones only with transport="socket")
    sockets: SocketHub | None = None

    def channel(self, name: str) -> Channel:
        found = self.ws.channel_by_name(name)
        assert found is not None, (
            f"no channel #{name}; have {[c.name for c in self.ws.channels.values()]}"
        )
        return found

    async def post_signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Ack:
        ts = int(time.time()) if timestamp is None else timestamp
        headers = signed_headers(body, ts, secret or SIGNING_SECRET, content_type)
        async with self.http.post(
            f"{self.bot_url}/slack/events", data=body, headers=headers
        ) as resp:
            return Ack(resp.status, await resp.text())

    async def send(self, body: bytes, content_type: str) -> Ack:
        """Deliver a request body Slack would send, over this harness's transport."""
        if self.transport == "http":
            return await self.post_signed(body, content_type)
        assert self.sockets is not None
        status, text, error = await deliver_body(self.sockets, body, content_type)
        if status is None or error is not None:
            return Ack(504, error or "no answer")
        return Ack(status, text)

    async def slash(self, text: str, *, user: str = "U0ONCALL", channel: str = "general") -> Ack:
        """Type a slash command as `user` in #`channel`, exactly as Slack would post it."""
        body = self.slash_body(text, user=user, channel=channel)
        return await self.send(body, "application/x-www-form-urlencoded")

    def slash_body(self, text: str, *, user: str = "U0ONCALL", channel: str = "general") -> bytes:
        """The slash command's body as Slack posts it, with a fresh response_url."""
        command, _, rest = text.partition(" ")
        channel_id = self.channel(channel).id
        token = new_response_url(self.ws, channel=channel_id, user=user, now=time.time())
        return slash_command_body(
            self.ws,
            command=command,
            text=rest,
            user_id=user,
            channel_id=channel_id,
            response_url=f"{self.sandbox_url}/response/{token}",
            trigger_id=f"trigger-{token[-8:]}",
        )

    async def alert(
        self, source: str, body: Any, *, token: str = ALERT_TOKEN, replica: int = 0
    ) -> tuple[int, Any]:
        """POST an alert the way Alertmanager, Grafana or a script would (to bot `replica`)."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = self.replicas[replica][0] if self.replicas else self.bot_url
        async with self.http.post(f"{url}/alerts/{source}", data=data, headers=headers) as resp:
            return resp.status, await resp.json()

    async def press(self, message: Message, action_id: str, *, user: str = "U0ONCALL") -> Ack:
        """Press the button `action_id` on `message`, as Slack would send it."""
        button = next(
            {**element, "block_id": block.get("block_id", "")}
            for block in message.blocks
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("action_id") == action_id
        )
        token = new_response_url(self.ws, channel=message.channel, user=user, now=time.time())
        body = block_actions_body(
            self.ws,
            user_id=user,
            channel_id=message.channel,
            message=message,
            action=button,
            response_url=f"{self.sandbox_url}/response/{token}",
            trigger_id=self.trigger(),
        )
        return await self.send(body, "application/x-www-form-urlencoded")

    def trigger(self) -> str:
        """A trigger id the sandbox issued just now (views.open takes it once, within 3 s)."""
        trigger_id = new_trigger_id()
        self.ws.triggers[trigger_id] = time.time()
        return trigger_id

    async def submit(
        self,
        view: dict[str, Any],
        text_values: dict[tuple[str, str], str],
        *,
        user: str = "U0ONCALL",
    ) -> Ack:
        """Submit an open modal with plain-text inputs (block_id, action_id) -> value."""
        values: dict[str, Any] = {}
        for (block_id, action_id), value in text_values.items():
            values.setdefault(block_id, {})[action_id] = {
                "type": "plain_text_input",
                "value": value,
            }
        body = view_submission_body(self.ws, user_id=user, view=view, values=values)
        return await self.send(body, "application/x-www-form-urlencoded")

    def intros(self, room: Channel) -> list[Message]:
        """The war-room intro(s): the bot's messages with the incident buttons."""
        return [
            m
            for m in room.messages
            if m.user == self.ws.bot_user_id
            and "incident_ack" in json.dumps(m.blocks)
            and "alarm_clock" not in m.text
        ]

    def bot_messages(self, channel: str) -> list[Message]:
        return [m for m in self.channel(channel).messages if m.user == self.ws.bot_user_id]

    def ephemerals(self, user: str) -> list[str]:
        return [
            m.text for c in self.ws.channels.values() for m in c.messages if m.ephemeral_to == user
        ]


@overload
async def eventually(check: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T: ...


@overload
async def eventually(check: Callable[[], T | None], within: float = 10.0) -> T: ...


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll `check` (sync or async) until it returns something truthy (work after the ack)."""

    async def value_of() -> Any:
        value = check()
        return await value if inspect.isawaitable(value) else value

    deadline = time.monotonic() + within
    while True:
        try:
            value = await value_of()
        except (AssertionError, KeyError, LookupError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            value = await value_of()  # let a failing assertion speak
            raise AssertionError(f"condition not met within {within}s (last: {value!r})")
        await asyncio.sleep(0.02)


def runtime_for(
    database_url: str,
    slack_api_url: str,
    settings: Settings | None = None,
    *,
    app_token: str | None = None,
) -> RuntimeConfig:
    """With `app_token`, create_app starts Socket Mode against `slack_api_url`."""
    return RuntimeConfig(
        settings=settings or Settings(),
        secrets=Secrets(
            slack_bot_token="xoxb-sandbox-token",
            slack_signing_secret=SIGNING_SECRET,
            slack_app_token=app_token,
            alert_token=ALERT_TOKEN,
        ),
        database_url=database_url,
        slack_api_url=slack_api_url,
        config_path=None,
    )


@asynccontextmanager
async def running(
    database_url: str,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    replicas: int = 1,
    transport: str = "http",
) -> AsyncIterator[Harness]:
    """The sandbox and `replicas` bot processes (apps) sharing one database, on loopback.

    transport="socket": each bot connects to the sandbox in Socket Mode (its app token set)
    and the acts (`slash`, `press`, `submit`) go over the WebSocket; yields once every
    replica's connection is live."""
    assert transport in TRANSPORTS, transport
    ws = default_workspace(time.time())
    sandbox_sock = bound_socket()
    bot_socks = [bound_socket() for _ in range(replicas)]
    sandbox_url, bot_url = url_of(sandbox_sock), url_of(bot_socks[0])
    page = PageConfig(
        public_url=sandbox_url,
        events_url=f"{bot_url}/slack/events",
        signing_secret=SIGNING_SECRET,
        alerts_url=f"{bot_url}/alerts/generic",
        alert_token=ALERT_TOKEN,
    )
    app_token = ws.app_token if transport == "socket" else None
    runtime = runtime_for(database_url, f"{sandbox_url}/api/", settings, app_token=app_token)
    apps = [create_app(runtime, clock=clock) for _ in bot_socks]
    runners = []
    sandbox = create_sandbox_app(ws, time.time, page)
    served = [(sandbox_sock, sandbox), *zip(bot_socks, apps, strict=True)]
    for sock, application in served:
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        runners.append(runner)
    bots = [(url_of(sock), app) for sock, app in zip(bot_socks, apps, strict=True)]
    async with aiohttp.ClientSession() as http:
        try:
            if transport == "socket":
                await eventually(lambda: len(sandbox[SOCKETS].live()) >= replicas)
            yield Harness(
                ws,
                bot_url,
                sandbox_url,
                runtime,
                http,
                apps[0],
                runners,
                bots,
                transport=transport,
                sockets=sandbox[SOCKETS],
            )
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
