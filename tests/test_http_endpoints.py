"""Slack signature checks on /slack/events, and the health, readiness and metrics endpoints."""

from __future__ import annotations

import time

from bot.sandbox.slack_requests import slash_command_body
from tests.db_reads import incidents
from tests.harness import Harness, running

FORM = "application/x-www-form-urlencoded"


def _declare_body(h: Harness) -> bytes:
    return slash_command_body(
        h.ws,
        command="/incident",
        text="declare critical Should never open",
        user_id="U0ONCALL",
        channel_id=h.channel("general").id,
        response_url=f"{h.sandbox_url}/response/none",
        trigger_id="t1",
    )


async def test_unsigned_tampered_and_stale_requests_get_401(database_url: str) -> None:
    async with running(database_url) as h:
        body = _declare_body(h)
        async with h.http.post(
            f"{h.bot_url}/slack/events", data=body, headers={"Content-Type": FORM}
        ) as r:
            assert r.status == 401
        assert (await h.post_signed(body, FORM, secret="not-the-secret")).status == 401
        tampered = body.replace(b"Should+never+open", b"Tampered+title")
        from bot.sandbox.slack_requests import signed_headers

        headers = signed_headers(body, int(time.time()), "test-signing-secret-0123456789", FORM)
        async with h.http.post(f"{h.bot_url}/slack/events", data=tampered, headers=headers) as r:
            assert r.status == 401
        six_minutes_ago = int(time.time()) - 6 * 60
        assert (await h.post_signed(body, FORM, timestamp=six_minutes_ago)).status == 401
        six_minutes_ahead = int(time.time()) + 6 * 60
        assert (await h.post_signed(body, FORM, timestamp=six_minutes_ahead)).status == 401
        assert await incidents(database_url) == []
        assert not [c for c in h.ws.channels.values() if c.name.startswith("inc-")]
        # Within the window, the same request is accepted.
        four_minutes_ago = int(time.time()) - 4 * 60
        assert (await h.post_signed(body, FORM, timestamp=four_minutes_ago)).status == 200


async def test_garbage_bodies_never_crash_the_endpoint(database_url: str) -> None:
    async with running(database_url) as h:
        for body, content_type in (
            (b"", FORM),
            (b"payload=%7Bnot-json", FORM),
            (b"\xff\xfe\x00garbage", "application/octet-stream"),
            (b'{"type": "event_callback"', "application/json"),
        ):
            ack = await h.post_signed(body, content_type)
            assert ack.status < 500, (body, ack)
        async with h.http.get(f"{h.bot_url}/healthz") as r:
            assert r.status == 200


async def test_health_ready_and_metrics(database_url: str) -> None:
    async with running(database_url) as h:
        async with h.http.get(f"{h.bot_url}/healthz") as r:
            assert r.status == 200 and (await r.json()) == {"status": "ok"}
        async with h.http.get(f"{h.bot_url}/readyz") as r:
            body = await r.json()
            assert r.status == 200, body
            assert body["checks"] == {"database": "ok", "slack": "ok"}
        async with h.http.get(f"{h.bot_url}/metrics") as r:
            text = await r.text()
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            assert 'warroom_http_requests_total{route="/readyz",status="200"} 1.0' in text
            assert r.headers["X-Request-Id"]


async def test_readyz_fails_when_slack_rejects_the_token(database_url: str) -> None:
    async with running(database_url) as h:
        h.ws.bot_token = "xoxb-rotated-elsewhere"
        async with h.http.get(f"{h.bot_url}/readyz") as r:
            body = await r.json()
            assert r.status == 503
            assert body["checks"]["slack"] == "auth failed (invalid_auth)"
            assert body["checks"]["database"] == "ok"


async def test_readyz_fails_when_the_database_is_gone(tmp_path: object) -> None:
    async with running("sqlite+aiosqlite:////nonexistent-dir/warroom.db") as h:
        async with h.http.get(f"{h.bot_url}/readyz") as r:
            body = await r.json()
            assert r.status == 503
            assert body["checks"]["database"].startswith("unreachable")


async def test_request_id_is_echoed_when_sane(database_url: str) -> None:
    async with running(database_url) as h:
        async with h.http.get(f"{h.bot_url}/healthz", headers={"X-Request-Id": "abc-123"}) as r:
            assert r.headers["X-Request-Id"] == "abc-123"
        async with h.http.get(
            f"{h.bot_url}/healthz", headers={"X-Request-Id": "bad id\u2028"}
        ) as r:
            assert (
                r.headers["X-Request-Id"] != "bad id\u2028" and len(r.headers["X-Request-Id"]) == 32
            )
