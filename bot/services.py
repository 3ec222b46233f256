"""The ports a command or the intake works with, bundled once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.clock import Clock
from bot.config.settings import Settings
from bot.metrics import Metrics
from bot.slack.gateway import SlackGateway
from bot.templates import Templates


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: async_sessionmaker[Any]
    slack: SlackGateway
    templates: Templates
    clock: Clock
    metrics: Metrics
