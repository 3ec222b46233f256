"""Per-request context: a request id on every log line and response, metrics by route."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.infra.logs import new_context, reset_context
from bot.web.keys import METRICS

log = logging.getLogger("warroom.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    token = new_context(request_id=request_id)
    started = time.monotonic()
    route = _route_name(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-Id"] = request_id
        raise
    finally:
        metrics = request.app.get(METRICS)
        if metrics is not None:
            metrics.http_requests.labels(route, str(status)).inc()
            metrics.http_latency.labels(route).observe(time.monotonic() - started)
        if status >= 500:
            log.warning("request failed", extra={"path": request.path, "status": status})
        reset_context(token)
