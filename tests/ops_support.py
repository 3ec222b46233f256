"""The demo backends on their own loopback port, and ways to read what a command answered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.config.backends import BackendSettings
from bot.config.platform import CommandPermission
from bot.config.settings import Settings
from bot.db.models import AuditRecord
from bot.sandbox.demo_backends import DemoBackends, create_demo_backends_app
from bot.sandbox.workspace import Message
from tests.db_reads import rows
from tests.harness import Harness, bound_socket, eventually, url_of


@dataclass
class Backend:
    url: str
    state: DemoBackends


@asynccontextmanager
async def demo_backends() -> AsyncIterator[Backend]:
    state = DemoBackends()
    sock = bound_socket()
    runner = web.AppRunner(create_demo_backends_app(state), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield Backend(url_of(sock), state)
    finally:
        await runner.cleanup()


def ops_settings(
    url: str,
    permissions: dict[str, CommandPermission] | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 1,
    **changes: Any,
) -> Settings:
    backend = BackendSettings(base_url=url, timeout=timedelta(seconds=timeout), retries=retries)
    settings = Settings(
        backends={name: backend for name in ("integrations", "queues", "campaigns")},
        permissions=permissions or {},
    )
    return replace(settings, **changes)


def allowed(*users: str, two_person: bool = False) -> dict[str, CommandPermission]:
    rule = CommandPermission(users=users, two_person=two_person)
    return {name: rule for name in ("pause-campaign", "resume-campaign", "replay-deadletter")}


def seen_by(h: Harness, user: str, channel: str = "general") -> list[Message]:
    """Messages in #channel that `user` sees: everyone's, and the ones only they see."""
    return [m for m in h.channel(channel).messages if m.ephemeral_to in (None, user)]


async def answer(h: Harness, user: str, text: str, channel: str = "general") -> Message:
    """The newest message `user` sees in #channel containing `text`."""

    def found() -> Message | None:
        hits = [m for m in seen_by(h, user, channel) if text in m.text + json.dumps(m.blocks)]
        return hits[-1] if hits else None

    return await eventually(found, within=15)


async def audit_rows(database_url: str) -> list[Any]:
    return await rows(database_url, select(AuditRecord).order_by(AuditRecord.id))


async def audited(database_url: str, at_least: int) -> list[Any]:
    """The audit rows once there are `at_least` of them."""

    async def enough() -> list[Any] | None:
        found = await audit_rows(database_url)
        return found if len(found) >= at_least else None

    found: list[Any] = await eventually(enough)
    return found
