"""HTTP endpoints: Slack events, health, readiness, metrics, timeline exports."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from sqlalchemy import text

from bot.slack.gateway import SlackFailure
from bot.slack.signature import is_valid_slack_request
from bot.web.exports import add_export_routes
from bot.web.intake import add_intake_routes
from bot.web.keys import BOLT, ENGINE, METRICS, READINESS, RUNTIME, SERVICES

log = logging.getLogger(__name__)
READY_CACHE_SECONDS = 30.0


def add_routes(app: web.Application) -> None:
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_intake_routes(app)
    add_export_routes(app)


async def slack_events(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    if not runtime.secrets.slack_signing_secret:
        return web.json_response(
            {"error": "HTTP events are off: set SLACK_SIGNING_SECRET (Socket Mode is in use)"},
            status=404,
        )
    body = await request.read()
    if not is_valid_slack_request(
        body,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
        runtime.secrets.slack_signing_secret,
        time.time(),  # the signature window is wall-clock time, whatever the app's clock
    ):
        return web.json_response(
            {"error": "invalid Slack signature or stale timestamp"}, status=401
        )
    try:
        bolt_request = await to_bolt_request(request)
    # ValueError: not JSON or UTF-8; RecursionError: nested too deep; the others: JSON that
    # is not an object, or whose fields bolt reads have the wrong types.
    except (ValueError, RecursionError, AttributeError, TypeError, KeyError, IndexError):
        return web.json_response({"error": "the body is not a Slack payload"}, status=400)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    if bolt_response.status >= 500:
        # Bolt answers 500 when its matchers, or a listener before its ack, raised on this
        # payload (malformed fields): the error is logged; the sender gets a 4xx, not a 5xx.
        return web.json_response({"error": "this Slack payload could not be handled"}, status=400)
    return await to_aiohttp_response(bolt_response)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and Slack accepts our token (cached 30 s)."""
    checks = {
        "database": await _check_database(request.app),
        "slack": await _check_slack(request.app),
    }
    ready = all(result == "ok" for result in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


async def _check_database(app: web.Application) -> str:
    try:
        async with asyncio.timeout(3):
            async with app[ENGINE].connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def _check_slack(app: web.Application) -> str:
    cache = app[READINESS]
    now = time.monotonic()
    if cache.get("slack_checked_at", -1e9) + READY_CACHE_SECONDS > now:
        return str(cache["slack"])
    try:
        async with asyncio.timeout(5):
            await app[SERVICES].slack.auth_test()
        result = "ok"
    except SlackFailure as exc:
        result = f"auth failed ({exc.code})"
    except Exception as exc:
        result = f"unreachable ({type(exc).__name__})"
    # Only success is cached, so a recovered Slack is seen at once.
    if result == "ok":
        cache.update(slack=result, slack_checked_at=now)
    return result


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
