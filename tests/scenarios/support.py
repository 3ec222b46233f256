"""What every runbook scenario test shares: an example config pointed at loopback backends,
the bot and sandbox over one Slack transport, on an emptied PostgreSQL database.

Scenario tests run once per transport (`transport` fixture in conftest.py): "http" (Slack posts
signed requests to /slack/events) and "socket" (Socket Mode: the sandbox pushes envelopes over
the WebSocket the bot opened with apps.connections.open).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config.platform import CommandPermission
from bot.config.settings import Settings
from bot.infra.config_loader import load_config
from bot.infra.time_source import Clock
from bot.sandbox.workspace import Channel, Message
from tests.harness import Harness, running

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
_AUTH_ENV = re.compile(r"auth_env:\s*([A-Z_][A-Z0-9_]*)")
_VAR_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-[^}]*)?\}")
TRANSPORTS = ("http", "socket")
TOKEN = "Bearer scenario-token"


def example_env(name: str, hooks_url: str | None = None) -> dict[str, str]:
    """Values for every variable examples/<name>.yaml names: backend tokens, a placeholder for
    each `${NAME}`, and `hooks_url` (a loopback server) for webhook `${…_URL}`/`${…_ENDPOINT}`."""
    text = (EXAMPLES / f"{name}.yaml").read_text()
    env = {
        var: hooks_url if hooks_url and var.endswith(("_URL", "_ENDPOINT")) else f"scenario-{var}"
        for var in _VAR_REF.findall(text)
    }
    return env | dict.fromkeys(_AUTH_ENV.findall(text), TOKEN)


def example_settings(
    name: str,
    backend_url: str,
    *,
    env: Mapping[str, str] | None = None,
    permissions: Mapping[str, CommandPermission] | None = None,
    **changes: Any,
) -> Settings:
    """examples/<name>.yaml as `warroom check-config` loads it (with `env`, default
    `example_env(name)`), every configured backend pointed at `backend_url` (a loopback
    server) with a short timeout, one try."""
    given = example_env(name) if env is None else dict(env)
    settings = load_config(str(EXAMPLES / f"{name}.yaml"), env=given).settings
    backends = {
        key: replace(backend, base_url=backend_url, timeout=timedelta(seconds=1), retries=1)
        for key, backend in settings.backends.items()
    }
    settings = replace(settings, backends=backends)
    if permissions is not None:
        settings = replace(settings, permissions=dict(permissions))
    return replace(settings, **changes)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ for the block, then as before."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@asynccontextmanager
async def scenario_bot(
    database_url: str, settings: Settings, transport: str, *, clock: Clock | None = None
) -> AsyncIterator[Harness]:
    """The bot with `settings`, Slack reaching it over `transport` ("http" or "socket"); the
    backends' `auth_env` tokens are in the environment, where the bot reads them at start."""
    assert transport in TRANSPORTS, transport
    tokens = {b.auth_env: TOKEN for b in settings.backends.values() if b.auth_env}
    with environment(tokens):
        async with running(database_url, settings=settings, clock=clock, transport=transport) as h:
            yield h


def add_channel(h: Harness, name: str) -> Channel:
    """A public channel everyone (and the bot) is in, as the team's workspace has it."""
    found = h.ws.channel_by_name(name)
    if found is not None:
        return found
    channel = Channel(
        id=h.ws.next_id("C"), name=name, created=0, creator="U0ONCALL", members=list(h.ws.users)
    )
    h.ws.channels[channel.id] = channel
    return channel


def everything(message: Message) -> str:
    """What a person reads in a message: its text and every block (unicode kept)."""
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


def direct_messages(h: Harness, user: str) -> list[Message]:
    """What the bot sent `user` in a direct message."""
    return [
        m
        for c in h.ws.channels.values()
        if c.is_im and user in c.members
        for m in c.messages
        if m.user == h.ws.bot_user_id
    ]
