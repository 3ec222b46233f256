"""Every port, bundled once per process by the app factory. Entry points hold it; features
take the small protocols of bot.runtime.ports, which it satisfies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.backends.registry import Backends
from bot.config.settings import Settings
from bot.core.integration_health import ProbeMemory
from bot.db.unit_of_work import UnitOfWork
from bot.infra.metrics import Metrics
from bot.infra.replica import replica_id
from bot.infra.templates import Templates
from bot.infra.time_source import Clock
from bot.slack.gateway import SlackGateway


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: UnitOfWork
    slack: SlackGateway
    templates: Templates
    clock: Clock
    metrics: Metrics
    backends: Backends = field(default_factory=Backends.none)
    probes: ProbeMemory = field(default_factory=ProbeMemory)
    replica: str = field(default_factory=replica_id)  # holds leases (drill runs)
    drills: dict[int, asyncio.Task[Any]] = field(default_factory=dict)  # run id -> player
