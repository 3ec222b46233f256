"""What the aiohttp application holds: typed keys for the app factory, routes, middleware."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.settings import RuntimeConfig
from bot.infra.metrics import Metrics
from bot.infra.time_source import Clock
from bot.listeners.in_flight import ListenersInFlight
from bot.outbox.worker import OutboxWorker
from bot.runtime.services import Services

RUNTIME = web.AppKey("runtime", RuntimeConfig)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
ENGINE = web.AppKey("engine", AsyncEngine)
SLACK_CLIENT = web.AppKey("slack_client", AsyncWebClient)
SERVICES = web.AppKey("services", Services)
BOLT = web.AppKey("bolt", AsyncApp)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
READINESS = web.AppKey("readiness", dict[str, Any])
OUTBOX = web.AppKey("outbox", OutboxWorker)
LISTENERS = web.AppKey("listeners", ListenersInFlight)
