"""Composition: `create_app(runtime) -> aiohttp.web.Application`. Nothing connects at import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.tick import alert_tick
from bot.backends.registry import Backends
from bot.config.settings import RuntimeConfig
from bot.db.engine import create_engine, read_session_factory, session_factory
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.unit_of_work import UnitOfWork
from bot.drill.start import hand_on_drills, resume_drills
from bot.escalation.ticker import clock_tick
from bot.infra.config_loader import redact_url
from bot.infra.metrics import Metrics
from bot.infra.templates import Templates
from bot.infra.time_source import Clock, SystemClock
from bot.listeners.bolt_app import build_bolt_app
from bot.listeners.in_flight import track_listeners
from bot.listeners.socket_mode import socket_mode
from bot.operations.command_log import expire_prompts
from bot.operations.integration_probe import probe_tick
from bot.outbox.worker import OutboxWorker
from bot.runtime.services import Services
from bot.sandbox.app import create_sandbox_app
from bot.sandbox.demo_backends import create_demo_backends_app
from bot.sandbox.embedded import DEMO_BACKENDS_PREFIX, SANDBOX_PREFIX
from bot.sandbox.page import PageConfig
from bot.sandbox.workspace import Workspace
from bot.slack.gateway import SlackGateway, make_web_client
from bot.web.keys import (
    BOLT,
    CLOCK,
    ENGINE,
    LISTENERS,
    METRICS,
    OUTBOX,
    READINESS,
    RUNTIME,
    SCHEDULER,
    SERVICES,
    SLACK_CLIENT,
)
from bot.web.middleware import request_context
from bot.web.outbox_handlers import failure_hooks, handlers
from bot.web.routes import add_routes
from commands.registry import build_registry

log = logging.getLogger(__name__)

TICK_DRAIN_SECONDS = 10.0  # a tick is one short transaction; a stuck one is given up on
STOP_GRACE_SECONDS = 10.0
LISTENER_DRAIN_SECONDS = 10.0  # a command still waiting on a slow backend


def create_app(
    runtime: RuntimeConfig,
    *,
    clock: Clock | None = None,
    sandbox_workspace: Workspace | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[request_context], client_max_size=runtime.settings.server.max_body_bytes
    )
    app[RUNTIME] = runtime
    app[CLOCK] = clock or SystemClock()
    app[METRICS] = Metrics()
    app[READINESS] = {}
    app.cleanup_ctx.extend([_database, _slack_client, _services, _outbox_worker, _scheduler])
    app.on_shutdown.extend([_drain_listeners, _hand_on_drills])
    if runtime.secrets.slack_app_token:
        app.cleanup_ctx.append(_socket_mode)
    add_routes(app)
    if runtime.sandbox:
        _mount_sandbox(app, runtime, sandbox_workspace or Workspace())
    return app


def _mount_sandbox(app: web.Application, runtime: RuntimeConfig, ws: Workspace) -> None:
    public = (runtime.settings.server.public_url or runtime.self_url).rstrip("/")
    page = PageConfig(
        public_url=f"{public}{SANDBOX_PREFIX}",
        events_url=f"{runtime.self_url}/slack/events",
        signing_secret=runtime.secrets.slack_signing_secret or "",
        alerts_url=f"{runtime.self_url}/alerts/generic",
        alert_token=runtime.secrets.alert_token or "",
        timezone=runtime.settings.timezone,  # the page's times in the zone the bot's texts use
    )

    async def to_page(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{SANDBOX_PREFIX}/")

    # Registered before the sub-app, which would otherwise answer the bare prefix with 404.
    app.router.add_get(SANDBOX_PREFIX, to_page)
    app.add_subapp(SANDBOX_PREFIX, create_sandbox_app(ws, time.time, page))
    app.add_subapp(DEMO_BACKENDS_PREFIX, create_demo_backends_app())


async def _database(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    engine = create_engine(runtime.database_url)
    app[ENGINE] = engine
    log.info("database engine ready", extra={"database": redact_url(runtime.database_url)})
    yield
    await engine.dispose()


async def _slack_client(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    app[SLACK_CLIENT] = make_web_client(
        runtime.secrets.slack_bot_token or "", runtime.slack_api_url, session
    )
    yield
    await session.close()


async def _services(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    services = Services(
        settings=runtime.settings,
        db=UnitOfWork(session_factory(app[ENGINE]), reads=read_session_factory(app[ENGINE])),
        slack=SlackGateway(app[SLACK_CLIENT]),
        templates=Templates(runtime.settings.templates_dir),
        clock=app[CLOCK],
        metrics=app[METRICS],
        backends=Backends.of(runtime.settings, os.environ),
    )
    app[SERVICES] = services
    app[BOLT] = build_bolt_app(
        services,
        app[SLACK_CLIENT],
        build_registry(runtime.settings),
    )
    app[LISTENERS] = track_listeners(app[BOLT])
    yield
    await services.backends.aclose()


async def _socket_mode(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    async with socket_mode(app[BOLT], runtime.secrets.slack_app_token or "", runtime.slack_api_url):
        yield


async def _hand_on_drills(app: web.Application) -> None:
    """The drills this replica plays stop here; another replica plays them on at once."""
    try:
        await hand_on_drills(app[SERVICES])
    except DATABASE_UNAVAILABLE as exc:  # they go on after their lease
        log.warning("drills not handed on", extra={"error": type(exc).__name__})


async def _drain_listeners(app: web.Application) -> None:
    """Before anything closes: let acknowledged commands and button presses finish."""
    listeners = app.get(LISTENERS)
    if listeners is None or not listeners.count:
        return
    log.info("stopping: finishing acknowledged commands", extra={"count": listeners.count})
    if not await listeners.drained(LISTENER_DRAIN_SECONDS):
        log.warning("commands still running at shutdown", extra={"count": listeners.count})


async def _outbox_worker(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    # Its own client without slack_sdk's retry handlers: the worker schedules retries itself
    # (Retry-After, backoff) instead of sleeping on a claimed row.
    client = make_web_client(
        runtime.secrets.slack_bot_token or "",
        runtime.slack_api_url,
        app[SLACK_CLIENT].session,
        retries=False,
    )
    worker = OutboxWorker(app[SERVICES], SlackGateway(client), handlers(), failure_hooks())
    app[OUTBOX] = worker
    task = asyncio.create_task(worker.run_forever(), name="outbox-worker")
    yield
    worker.stop()
    try:
        await asyncio.wait_for(task, STOP_GRACE_SECONDS)
    except TimeoutError:
        log.warning("outbox worker did not stop in time; its rows are re-sent after the lease")
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    # APScheduler only ticks; deadlines live in the database.
    scheduler = AsyncIOScheduler(timezone="UTC")
    services = app[SERVICES]
    ticks = _RunningTicks()
    scheduler.add_job(app[METRICS].scheduler_tick, "interval", seconds=5, id="heartbeat")
    every: list[tuple[str, float, Callable[..., Awaitable[Any]], list[Any]]] = [
        ("alert-tick", 5, alert_tick, [services]),
        ("clock-tick", 2, clock_tick, [services]),
        ("outbox-housekeeping", 30, app[OUTBOX].housekeeping, []),
        ("drill-resume", 5, resume_drills, [services]),
        ("operation-expiry", 60, expire_prompts, [services]),
    ]
    probe_every = services.settings.integrations.probe_every
    if probe_every is not None:
        every.append(("integration-probe", probe_every.total_seconds(), probe_tick, [services]))
    for job_id, seconds, tick, args in every:  # one at a time each: a slow tick is not doubled
        scheduler.add_job(
            ticks.tracked(tick), "interval", seconds=seconds, id=job_id, args=args, max_instances=1
        )
    scheduler.start()
    app[SCHEDULER] = scheduler
    yield
    scheduler.pause()  # no new ticks; the running ones finish their transaction
    await ticks.finished(within=TICK_DRAIN_SECONDS)
    scheduler.shutdown(wait=False)


class _RunningTicks:
    """The scheduler's ticks in flight, so shutdown lets them finish instead of cancelling
    them halfway (APScheduler logs a cancelled job as an error)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def tracked(self, tick: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(tick)
        async def run(*args: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                return await tick(*args)
            finally:
                self._tasks.discard(task)

        return run

    async def finished(self, within: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)
