"""Alert intake: authenticate, bound, decode, normalise, commit — then answer 202.

Bad input gets 400 naming the field, bad credentials 401, an oversized body 413, a database
that is down 503; never a 500 for anything a sender can put in a request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from bot.alerts.pipeline import ingest
from bot.config.settings import AlertSettings
from bot.core.alerts import (
    AlertPayloadError,
    NormalizedAlert,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.web.auth import bearer_matches
from bot.web.grafana_signature import verify_grafana_signature
from bot.web.keys import CLOCK, METRICS, RUNTIME, SERVICES

log = logging.getLogger(__name__)

Parser = Callable[[Any, AlertSettings, Any], list[NormalizedAlert]]


def _alertmanager(body: Any, settings: AlertSettings, _now: Any) -> list[NormalizedAlert]:
    return parse_alertmanager(body, settings)


def _grafana(body: Any, settings: AlertSettings, _now: Any) -> list[NormalizedAlert]:
    return parse_grafana(body, settings)


PARSERS: dict[str, Parser] = {
    "alertmanager": _alertmanager,
    "grafana": _grafana,
    "generic": parse_generic,
}


def add_intake_routes(app: web.Application) -> None:
    for source, parser in PARSERS.items():
        app.router.add_post(f"/alerts/{source}", _handler(source, parser))


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _signature_problem(source: str, request: web.Request, raw: bytes) -> str | None:
    """Grafana's HMAC signature, checked only when `alerts.grafana_hmac.secret` is set."""
    settings = request.app[RUNTIME].settings.alerts.grafana_hmac
    if source != "grafana" or not settings.secret:
        return None
    now = request.app[CLOCK].now().timestamp()
    return verify_grafana_signature(settings, settings.secret, raw, request.headers, now)


def _handler(source: str, parser: Parser) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        runtime = request.app[RUNTIME]
        metrics = request.app[METRICS]
        if not bearer_matches(request, runtime.secrets.alert_token):
            metrics.alerts_rejected.labels(source, "auth").inc()
            hint = (
                ""
                if runtime.secrets.alert_token
                else " (intake is closed: WARROOM_ALERT_TOKEN is not set)"
            )
            return _error(401, f"missing or wrong bearer token{hint}")
        limit = runtime.settings.server.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            metrics.alerts_rejected.labels(source, "size").inc()
            return _error(413, f"body larger than {limit} bytes")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            metrics.alerts_rejected.labels(source, "size").inc()
            return _error(413, f"body larger than {limit} bytes")
        if problem := _signature_problem(source, request, raw):
            metrics.alerts_rejected.labels(source, "auth").inc()
            return _error(401, problem)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # also 4,301+ digit numbers, deep nesting
            metrics.alerts_rejected.labels(source, "invalid").inc()
            return _error(400, f"body is not JSON ({exc.__class__.__name__})", field="$")
        now = request.app[CLOCK].now()
        try:
            alerts = parser(body, runtime.settings.alerts, now)
        except AlertPayloadError as exc:
            metrics.alerts_rejected.labels(source, "invalid").inc()
            return _error(400, str(exc), field=exc.field)
        services = request.app[SERVICES]
        try:
            async with services.db.begin() as session:
                ingested = await ingest(session, alerts, runtime.settings, now)
        except DATABASE_UNAVAILABLE as exc:  # a TimeoutError (an OSError) too
            log.warning(
                "alert not stored: database unavailable", extra={"error": type(exc).__name__}
            )
            metrics.alerts_rejected.labels(source, "unavailable").inc()
            return web.json_response(
                {"error": "database unavailable; the alert was not stored — retry"},
                status=503,
                headers={"Retry-After": "5"},
            )
        metrics.alerts_received.labels(source).inc(len(alerts))
        for outcome in ingested.groups:
            metrics.alerts_routed.labels(outcome.action).inc()
        log.info("alerts stored", extra={"source": source, "count": len(ingested.alert_ids)})
        return web.json_response(
            {
                "accepted": len(ingested.alert_ids),
                "alert_ids": ingested.alert_ids,
                "groups": [asdict(g) for g in ingested.groups],
            },
            status=202,
        )

    return handle
