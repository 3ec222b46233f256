"""The ports a command or the intake works with, bundled once per process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.backends.registry import Backends
from bot.config.settings import Settings
from bot.core.integration_health import ProbeMemory
from bot.infra.metrics import Metrics
from bot.infra.templates import Templates
from bot.infra.time_source import Clock
from bot.slack.gateway import SlackGateway


class Doorbell:
    """Rung after a commit that queued outbox rows, so the worker looks at once."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


def replica_id() -> str:
    """This process among the replicas: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: async_sessionmaker[Any]
    slack: SlackGateway
    templates: Templates
    clock: Clock
    metrics: Metrics
    doorbell: Doorbell = field(default_factory=Doorbell)
    backends: Backends = field(default_factory=Backends.none)
    probes: ProbeMemory = field(default_factory=ProbeMemory)
    reads: async_sessionmaker[Any] | None = None  # read-only sessions for polls and waits
    replica: str = field(default_factory=replica_id)  # holds leases (drill runs)
    drills: dict[int, asyncio.Task[Any]] = field(default_factory=dict)  # run id -> player

    @property
    def readers(self) -> async_sessionmaker[Any]:
        """Sessions for reading only: they never hold SQLite's write lock."""
        return self.reads or self.sessions
