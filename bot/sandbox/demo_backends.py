"""Demo backends: the platform's integrations, queues and campaigns, with switches to break them.

Paths are the seeds' defaults (observability playbook, incident runbooks). Each endpoint
group has a switch (``integrations``, one per integration, ``queues``, ``replay``,
``campaigns``) whose mode is ``ok``, ``down`` (connection closed without a response),
``unavailable`` (503), ``slow`` (does the work, answers after ``slow_seconds``), ``error500`` or
``ratelimited`` (429 with ``Retry-After``). Flip them with ``POST /_switches``, the
control page at ``GET /``, or directly on :class:`DemoBackends`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

JSON = dict[str, Any]
MODES = ("ok", "down", "unavailable", "slow", "error500", "ratelimited")
INTEGRATIONS = ("mawaqit", "whatsapp", "insurer", "pms", "waha", "voucher-preview")
GROUPS = ("integrations", "queues", "replay", "campaigns")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Switch:
    mode: str = "ok"
    slow_seconds: float = 10.0
    retry_after: int = 30


@dataclass
class Queue:
    backlog: int
    active_jobs: int
    retry_age_ms: int
    dead_letters: int


@dataclass
class Campaign:
    name: str
    status: str = "running"  # running | paused
    sent: int = 0
    pending: int = 0
    failed: int = 0


def _default_queues() -> dict[str, Queue]:
    return {
        "rentguy": Queue(backlog=12, active_jobs=3, retry_age_ms=1500, dead_letters=0),
        "sevensa": Queue(backlog=4, active_jobs=1, retry_age_ms=0, dead_letters=2),
        "whatsapp-outbound": Queue(
            backlog=1840, active_jobs=0, retry_age_ms=420000, dead_letters=12
        ),
    }


def _default_campaigns() -> dict[str, Campaign]:
    return {
        "cmp-1001": Campaign("Ramadan reminders", sent=1200, pending=800),
        "cmp-1002": Campaign("Spring voucher promo", sent=300, pending=2700),
        "cmp-1003": Campaign("Hotel check-in nudges", status="paused", sent=50, pending=150),
    }


@dataclass
class DemoBackends:
    """All state of the demo backends; tests and benchmarks may change it directly."""

    switches: dict[str, Switch] = field(
        default_factory=lambda: {t: Switch() for t in (*GROUPS, *INTEGRATIONS)}
    )
    queues: dict[str, Queue] = field(default_factory=_default_queues)
    campaigns: dict[str, Campaign] = field(default_factory=_default_campaigns)
    latency_ms: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(INTEGRATIONS, 120) | {"insurer": 340}
    )
    last_success: dict[str, float] = field(default_factory=dict)
    replays: dict[str, JSON] = field(default_factory=dict)  # Idempotency-Key -> first result
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path_qs) seen
    clock: Callable[[], float] = time.time

    def switch(self, target: str) -> Switch:
        return self.switches.setdefault(target, Switch())

    def set_switch(
        self,
        target: str,
        mode: str,
        slow_seconds: float | None = None,
        retry_after: int | None = None,
    ) -> Switch:
        """Set a switch; raises ValueError for an unknown target or mode."""
        if target not in GROUPS and target not in INTEGRATIONS:
            raise ValueError(
                f"unknown target {target!r}; one of {', '.join(GROUPS + INTEGRATIONS)}"
            )
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        sw = self.switch(target)
        sw.mode = mode
        if slow_seconds is not None:
            sw.slow_seconds = float(slow_seconds)
        if retry_after is not None:
            sw.retry_after = int(retry_after)
        return sw

    def integration(self, name: str) -> JSON:
        """One integration's health as the aggregate and health endpoints report it."""
        mode, now = self.switch(name).mode, self.clock()
        status = {"ok": "up", "slow": "degraded", "ratelimited": "degraded"}.get(mode, "down")
        error = {
            "down": "connection reset by peer",
            "unavailable": "HTTP 503 from upstream",
            "error500": "HTTP 500 from upstream",
            "ratelimited": "HTTP 429 rate limited",
            "slow": "timeout after 5000 ms",
        }.get(mode)
        if status == "up":
            self.last_success[name] = now
        last = self.last_success.get(name, now - 3600)
        latency = self.latency_ms.get(name, 120)
        return {
            "name": name,
            "status": status,
            "latency_ms": latency if mode != "slow" else 5000,
            "last_error": error,
            "last_success": datetime.fromtimestamp(last, UTC).isoformat(),
        }


_STATE = web.AppKey("demo_backends", DemoBackends)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, indent=1))


async def _apply(request: web.Request, sw: Switch) -> web.Response | None:
    """Misbehave as the switch says; None means answer normally."""
    if sw.mode == "down":
        if request.transport is not None:
            request.transport.close()
        raise web.HTTPServiceUnavailable()  # never written: the connection is gone
    if sw.mode == "unavailable":
        return _json({"error": "service_unavailable"}, 503)
    if sw.mode == "error500":
        return _json({"error": "internal_error"}, 500)
    if sw.mode == "ratelimited":
        resp = _json({"error": "rate_limited", "retry_after": sw.retry_after}, 429)
        resp.headers["Retry-After"] = str(sw.retry_after)
        return resp
    return None


def _guarded(*targets: str | Callable[[web.Request], str]) -> Callable[[Handler], Handler]:
    """Run the handler only if the first non-ok switch among ``targets`` lets it."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            state = request.app[_STATE]
            state.requests.append((request.method, request.path_qs))
            for target in targets:
                name = target(request) if callable(target) else target
                sw = state.switches.get(name)
                if sw is not None and sw.mode == "slow":
                    # The work is done at once; only the answer is late (a lost answer's retry
                    # must then be recognised by its Idempotency-Key).
                    response = await handler(request)
                    await asyncio.sleep(sw.slow_seconds)
                    return response
                if sw is not None and sw.mode != "ok":
                    failure = await _apply(request, sw)
                    if failure is not None:
                        return failure
                    break
            return await handler(request)

        return guarded

    return wrap


def _integration_name(request: web.Request) -> str:
    return request.match_info["integration"]


@_guarded("integrations")
async def integrations_status(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    forced = request.query.get("force", "").lower() in ("1", "true", "yes")
    items = [state.integration(name) for name in INTEGRATIONS]
    worst = next((s for s in ("down", "degraded") if any(i["status"] == s for i in items)), "up")
    checked = datetime.fromtimestamp(state.clock(), UTC).isoformat()
    return _json({"status": worst, "forced": forced, "checked_at": checked, "integrations": items})


@_guarded(_integration_name, "integrations")
async def integration_health(request: web.Request) -> web.StreamResponse:
    name = request.match_info["integration"]
    if name not in INTEGRATIONS:
        return _json({"error": "unknown_integration", "integration": name}, 404)
    return _json(request.app[_STATE].integration(name))


@_guarded("queues")
async def queue_metrics(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    queues = [{"name": name, **vars(q)} for name, q in state.queues.items()]
    generated = datetime.fromtimestamp(state.clock(), UTC).isoformat()
    return _json({"generated_at": generated, "queues": queues})


@_guarded("replay")
async def replay_deadletters(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    name = request.match_info["queue"]
    key = request.headers.get("Idempotency-Key")
    if key and key in state.replays:
        return _json({**state.replays[key], "idempotent_replay": True})
    queue = state.queues.get(name)
    if queue is None:
        return _json({"error": "unknown_queue", "queue": name}, 404)
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return _json({"error": "body is not JSON"}, 400)
    limit, dry_run = (body or {}).get("limit", 100), (body or {}).get("dry_run", False)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        return _json({"error": "limit must be a positive integer", "field": "limit"}, 400)
    if not isinstance(dry_run, bool):
        return _json({"error": "dry_run must be true or false", "field": "dry_run"}, 400)
    count = min(limit, queue.dead_letters)
    if not dry_run:
        queue.dead_letters -= count
        queue.backlog += count
    result = {
        "queue": name,
        "dry_run": dry_run,
        "replayed": 0 if dry_run else count,
        "would_replay": count,
        "remaining": queue.dead_letters,
    }
    if key:
        state.replays[key] = result
    return _json(result)


def _campaign(request: web.Request) -> tuple[str, Campaign | None]:
    cid = request.match_info["id"]
    return cid, request.app[_STATE].campaigns.get(cid)


def _campaign_json(cid: str, c: Campaign, **extra: Any) -> JSON:
    targets = {"sent": c.sent, "pending": c.pending, "failed": c.failed}
    return {"id": cid, "name": c.name, "status": c.status, "targets": targets, **extra}


def _campaign_switch(status: str) -> Handler:
    @_guarded("campaigns")
    async def handler(request: web.Request) -> web.StreamResponse:
        cid, c = _campaign(request)
        if c is None:
            return _json({"error": "campaign_not_found", "id": cid}, 404)
        changed, c.status = c.status != status, status
        return _json(_campaign_json(cid, c, changed=changed))

    return handler


@_guarded("campaigns")
async def campaign_status(request: web.Request) -> web.StreamResponse:
    cid, c = _campaign(request)
    if c is None:
        return _json({"error": "campaign_not_found", "id": cid}, 404)
    state = request.app[_STATE]
    if c.status == "running" and c.pending and state.switch("whatsapp").mode == "ok":
        step = min(25, c.pending)  # a healthy dispatcher advances; a broken one stalls
        c.sent, c.pending = c.sent + step, c.pending - step
    return _json(_campaign_json(cid, c))


async def list_switches(request: web.Request) -> web.StreamResponse:
    switches = {t: vars(s) for t, s in request.app[_STATE].switches.items()}
    return _json({"modes": list(MODES), "switches": switches})


async def set_switch(request: web.Request) -> web.StreamResponse:
    is_form = request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    try:
        data: Any = dict(await request.post()) if is_form else await request.json()
    except ValueError:
        return _json({"error": "body is not JSON"}, 400)
    if not isinstance(data, dict):
        return _json({"error": "expected a JSON object"}, 400)
    try:
        slow = data.get("slow_seconds")
        retry = data.get("retry_after")
        sw = request.app[_STATE].set_switch(
            str(data.get("target", "")),
            str(data.get("mode", "")),
            float(slow) if slow not in (None, "") else None,
            int(retry) if retry not in (None, "") else None,
        )
    except (ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)
    if is_form:
        raise web.HTTPSeeOther(str(request.app.router["demo-backends-index"].url_for()))
    return _json({"target": data["target"], **vars(sw)})


_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


async def control_page(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    html = _TEMPLATES.get_template("demo_backends.html").render(
        switches=state.switches,
        modes=MODES,
        queues=state.queues,
        campaigns=state.campaigns,
        switches_url=request.app.router["demo-backends-switches"].url_for(),
    )
    return web.Response(text=html, content_type="text/html")


def create_demo_backends_app(state: DemoBackends | None = None) -> web.Application:
    """The demo backends as an aiohttp app (serve it on its own port, or mount it)."""
    app = web.Application()
    app[_STATE] = state if state is not None else DemoBackends()
    r = app.router
    r.add_get("/", control_page, name="demo-backends-index")
    r.add_get("/_switches", list_switches, name="demo-backends-switches")
    r.add_post("/_switches", set_switch)
    r.add_get("/api/integrations/status", integrations_status)
    r.add_get("/health/{integration}", integration_health)
    r.add_get("/metrics/queues", queue_metrics)
    r.add_post("/integrations/{queue}/deadletter/replay", replay_deadletters)
    r.add_post("/campaigns/{id}/stop", _campaign_switch("paused"))
    r.add_post("/campaigns/{id}/start", _campaign_switch("running"))
    r.add_get("/campaigns/{id}/status", campaign_status)
    return app


def demo_state(app: web.Application) -> DemoBackends:
    """The state behind an app made by :func:`create_demo_backends_app`."""
    return app[_STATE]
