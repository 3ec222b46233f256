"""Demo backends: each endpoint, each switch mode, idempotent dead-letter replay."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp.test_utils import TestServer

from bot.sandbox.demo_backends import (
    INTEGRATIONS,
    MODES,
    DemoBackends,
    create_demo_backends_app,
    demo_state,
)


@dataclass
class Backends:
    state: DemoBackends
    client: httpx.AsyncClient


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    state = DemoBackends()
    app = create_demo_backends_app(state)
    assert demo_state(app) is state
    async with (
        TestServer(app) as server,
        httpx.AsyncClient(base_url=str(server.make_url("/")), timeout=5) as client,
    ):
        yield Backends(state, client)


async def test_aggregate_integration_status(backends: Backends) -> None:
    resp = await backends.client.get("/api/integrations/status", params={"force": "true"})
    assert resp.status_code == 200
    data = resp.json()
    assert data["forced"] is True and data["status"] == "up"
    assert [i["name"] for i in data["integrations"]] == list(INTEGRATIONS)
    for item in data["integrations"]:
        assert item["status"] == "up" and item["last_error"] is None
        assert isinstance(item["latency_ms"], int) and item["last_success"]

    backends.state.set_switch("whatsapp", "down")
    backends.state.set_switch("insurer", "slow", slow_seconds=0.01)
    data = (await backends.client.get("/api/integrations/status")).json()
    by_name = {i["name"]: i for i in data["integrations"]}
    assert data["status"] == "down" and data["forced"] is False
    assert by_name["whatsapp"]["status"] == "down" and by_name["whatsapp"]["last_error"]
    assert by_name["insurer"]["status"] == "degraded"
    assert by_name["pms"]["status"] == "up"


async def test_per_integration_health(backends: Backends) -> None:
    resp = await backends.client.get("/health/whatsapp")
    assert resp.status_code == 200 and resp.json()["status"] == "up"
    assert (await backends.client.get("/health/nope")).status_code == 404

    backends.state.set_switch("whatsapp", "down")
    with pytest.raises(httpx.RemoteProtocolError):
        await backends.client.get("/health/whatsapp")
    assert (await backends.client.get("/health/pms")).status_code == 200

    backends.state.set_switch("integrations", "error500")
    assert (await backends.client.get("/health/pms")).status_code == 500
    assert (await backends.client.get("/api/integrations/status")).status_code == 500


async def test_queue_metrics(backends: Backends) -> None:
    data = (await backends.client.get("/metrics/queues")).json()
    queues = {q["name"]: q for q in data["queues"]}
    assert {"rentguy", "sevensa", "whatsapp-outbound"} <= set(queues)
    for q in queues.values():
        assert set(q) >= {"backlog", "active_jobs", "retry_age_ms", "dead_letters"}
    assert queues["whatsapp-outbound"]["backlog"] == 1840


async def test_replay_deadletters_limit_dry_run_and_errors(backends: Backends) -> None:
    url = "/integrations/whatsapp-outbound/deadletter/replay"
    dry = (await backends.client.post(url, json={"limit": 5, "dry_run": True})).json()
    assert dry == {
        "queue": "whatsapp-outbound",
        "dry_run": True,
        "replayed": 0,
        "would_replay": 5,
        "remaining": 12,
    }
    real = (await backends.client.post(url, json={"limit": 5})).json()
    assert real["replayed"] == 5 and real["remaining"] == 7
    rest = (await backends.client.post(url, json={"limit": 100})).json()
    assert rest["replayed"] == 7 and rest["remaining"] == 0
    assert backends.state.queues["whatsapp-outbound"].dead_letters == 0

    bad = await backends.client.post(url, json={"limit": -1})
    assert bad.status_code == 400 and bad.json()["field"] == "limit"
    bad = await backends.client.post(url, json={"dry_run": "yes"})
    assert bad.status_code == 400 and bad.json()["field"] == "dry_run"
    assert (await backends.client.post(url, content=b"{")).status_code == 400
    missing = await backends.client.post("/integrations/nope/deadletter/replay", json={})
    assert missing.status_code == 404


async def test_replay_is_idempotent_per_key(backends: Backends) -> None:
    url = "/integrations/whatsapp-outbound/deadletter/replay"
    headers = {"Idempotency-Key": "replay-INC-1-1"}
    first = (await backends.client.post(url, json={"limit": 10}, headers=headers)).json()
    again = (await backends.client.post(url, json={"limit": 10}, headers=headers)).json()
    assert first["replayed"] == 10 and first["remaining"] == 2
    assert again == first | {"idempotent_replay": True}
    assert backends.state.queues["whatsapp-outbound"].dead_letters == 2
    other = await backends.client.post(url, json={"limit": 10}, headers={"Idempotency-Key": "k2"})
    assert other.json()["replayed"] == 2


async def test_campaign_stop_start_status(backends: Backends) -> None:
    status = (await backends.client.get("/campaigns/cmp-1001/status")).json()
    assert status["status"] == "running"
    assert set(status["targets"]) == {"sent", "pending", "failed"}
    before = status["targets"]["sent"]
    advanced = (await backends.client.get("/campaigns/cmp-1001/status")).json()
    assert advanced["targets"]["sent"] > before  # a healthy dispatcher advances

    stopped = (await backends.client.post("/campaigns/cmp-1001/stop")).json()
    assert stopped["status"] == "paused" and stopped["changed"] is True
    again = (await backends.client.post("/campaigns/cmp-1001/stop")).json()
    assert again["changed"] is False
    paused = (await backends.client.get("/campaigns/cmp-1001/status")).json()
    assert paused["targets"] == stopped["targets"]  # paused: nothing moves

    started = (await backends.client.post("/campaigns/cmp-1001/start")).json()
    assert started["status"] == "running"
    backends.state.set_switch("whatsapp", "down")  # the dispatcher stalls
    one = (await backends.client.get("/campaigns/cmp-1001/status")).json()
    two = (await backends.client.get("/campaigns/cmp-1001/status")).json()
    assert one["targets"] == two["targets"]
    assert (await backends.client.post("/campaigns/nope/stop")).status_code == 404
    assert (await backends.client.get("/campaigns/nope/status")).status_code == 404


@pytest.mark.parametrize(
    ("target", "method", "path"),
    [
        ("integrations", "GET", "/api/integrations/status"),
        ("queues", "GET", "/metrics/queues"),
        ("replay", "POST", "/integrations/rentguy/deadletter/replay"),
        ("campaigns", "POST", "/campaigns/cmp-1001/stop"),
        ("campaigns", "GET", "/campaigns/cmp-1001/status"),
        ("whatsapp", "GET", "/health/whatsapp"),
    ],
)
async def test_every_switch_mode(backends: Backends, target: str, method: str, path: str) -> None:
    client, state = backends.client, backends.state
    body = {"limit": 1} if "replay" in path else None

    state.set_switch(target, "down")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.request(method, path, json=body)
    for mode, status in (("unavailable", 503), ("error500", 500), ("ratelimited", 429)):
        state.set_switch(target, mode, retry_after=7)
        resp = await client.request(method, path, json=body)
        assert resp.status_code == status, mode
        if mode == "ratelimited":
            assert resp.headers["Retry-After"] == "7"
    state.set_switch(target, "slow", slow_seconds=0.3)
    with pytest.raises(httpx.ReadTimeout):
        await client.request(method, path, timeout=0.1, json=body)
    started = time.monotonic()
    assert (await client.request(method, path, json=body)).status_code == 200
    assert time.monotonic() - started >= 0.3
    state.set_switch(target, "ok")
    assert (await client.request(method, path, json=body)).status_code == 200


async def test_a_switch_breaks_only_its_group(backends: Backends) -> None:
    backends.state.set_switch("replay", "error500")
    assert (await backends.client.get("/metrics/queues")).status_code == 200
    assert (await backends.client.get("/api/integrations/status")).status_code == 200
    url = "/integrations/rentguy/deadletter/replay"
    assert (await backends.client.post(url, json={})).status_code == 500


async def test_switch_endpoints_and_control_page(backends: Backends) -> None:
    client = backends.client
    resp = await client.post(
        "/_switches", json={"target": "whatsapp", "mode": "slow", "slow_seconds": 10}
    )
    assert resp.status_code == 200 and resp.json()["mode"] == "slow"
    assert backends.state.switches["whatsapp"].slow_seconds == 10
    listed = (await client.get("/_switches")).json()
    assert listed["switches"]["whatsapp"]["mode"] == "slow"
    assert listed["modes"] == list(MODES)
    assert (await client.post("/_switches", json={"target": "x", "mode": "ok"})).status_code == 400
    bad_mode = await client.post("/_switches", json={"target": "queues", "mode": "broken"})
    assert bad_mode.status_code == 400
    assert (await client.post("/_switches", content=b"[1]")).status_code == 400

    form = await client.post("/_switches", data={"target": "queues", "mode": "down"})
    assert form.status_code == 303 and form.headers["location"] == "/"
    assert backends.state.switches["queues"].mode == "down"
    page = await client.get("/")
    assert page.status_code == 200
    assert 'name="mode" value="ratelimited"' in page.text and "whatsapp-outbound" in page.text
