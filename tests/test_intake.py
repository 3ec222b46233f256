"""Alert intake over HTTP: auth, size, bad JSON, bad fields, dedup, 202 only after commit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config.settings import ServerSettings, Settings
from bot.db.models import Alert, AlertGroup
from bot.sandbox.page import SAMPLE_ALERTS
from tests.db_reads import rows
from tests.harness import ALERT_TOKEN, Harness, running

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
FIRING = json.loads((FIXTURES / "v4-firing.json").read_text())
RESOLVED = json.loads((FIXTURES / "v4-resolved.json").read_text())
AUTH = {"Authorization": f"Bearer {ALERT_TOKEN}"}
# The sandbox page's "fire a sample alert" body: the intake must take what the page sends.
QUEUE_ALERT = SAMPLE_ALERTS["critical"]


async def _post(
    h: Harness, source: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(AUTH if headers is None else headers)}
    async with h.http.post(f"{h.bot_url}/alerts/{source}", data=data, headers=sent) as response:
        return response.status, await response.json()


async def _alerts(database_url: str) -> list[Any]:
    return await rows(database_url, select(Alert.__table__).order_by(Alert.id))


async def test_alertmanager_firing_then_resolved_is_one_row_per_alert(database_url: str) -> None:
    async with running(database_url) as h:
        headers = {"User-Agent": "Alertmanager/0.25.0", **AUTH}
        status, body = await _post(h, "alertmanager", FIRING, headers)
        assert status == 202 and body["accepted"] == 2
        stored = await _alerts(database_url)
        assert [a.status for a in stored] == ["firing", "firing"]
        assert all(a.severity == "critical" and a.ends_at is None for a in stored)
        assert len({a.group_key for a in stored}) == 1

        for _ in range(3):  # Alertmanager repeats the group
            assert (await _post(h, "alertmanager", FIRING, headers))[0] == 202
        assert len(await _alerts(database_url)) == 2

        status, _ = await _post(h, "alertmanager", RESOLVED, headers)
        assert status == 202
        after = await _alerts(database_url)
        assert [a.id for a in after] == [a.id for a in stored]
        assert [a.status for a in after] == ["resolved", "resolved"]
        assert all(a.ends_at is not None for a in after)


async def test_generic_shapes_are_accepted(database_url: str) -> None:
    async with running(database_url) as h:
        assert (await _post(h, "generic", QUEUE_ALERT))[0] == 202
        assert (await _post(h, "generic", {"type": "smoke", "message": "alert-test"}))[0] == 202
        pagerduty = {
            "routing_key": "r" * 32,
            "event_action": "trigger",
            "dedup_key": "insurer-api-down",
            "payload": {"summary": "Insurer API down", "severity": "critical", "source": "claims"},
        }
        assert (await _post(h, "generic", pagerduty))[0] == 202
        stored = await _alerts(database_url)
        assert len(stored) == 3
        assert {a.source for a in stored} == {"generic"}


async def test_a_pagerduty_resolve_without_payload_keeps_the_alert(database_url: str) -> None:
    """PagerDuty's resolve names only the dedup key: the stored alert keeps its group (here a
    payload.group), severity and text, and that group resolves."""
    async with running(database_url) as h:
        trigger = {
            "event_action": "trigger",
            "dedup_key": "insurer-api-down",
            "payload": {
                "summary": "Insurer API down",
                "severity": "critical",
                "source": "claims",
                "group": "insurer",
            },
        }
        assert (await _post(h, "generic", trigger))[0] == 202
        [before] = await _alerts(database_url)
        resolve = {"event_action": "resolve", "dedup_key": "insurer-api-down"}
        assert (await _post(h, "generic", resolve))[0] == 202
        [after] = await _alerts(database_url)
        assert after.status == "resolved" and after.ends_at is not None
        kept = ("group_key", "severity", "summary", "labels")
        assert [getattr(after, k) for k in kept] == [getattr(before, k) for k in kept]
        assert before.group_key == "pagerduty:insurer" and before.summary == "Insurer API down"
        groups = await rows(database_url, select(AlertGroup.__table__))
        assert [(g.group_key, g.status) for g in groups] == [("pagerduty:insurer", "resolved")]
        # A resolve for an alert never seen is stored as it came (nothing to keep).
        assert (await _post(h, "generic", {**resolve, "dedup_key": "never-seen"}))[0] == 202
        assert {a.summary for a in await _alerts(database_url)} == {
            "Insurer API down",
            "never-seen",
        }


async def test_concurrent_repeats_never_duplicate(database_url: str) -> None:
    async with running(database_url) as h:
        results = await asyncio.gather(*(_post(h, "alertmanager", FIRING) for _ in range(12)))
        assert {status for status, _ in results} == {202}
        assert len(await _alerts(database_url)) == 2


async def test_credentials_are_required(database_url: str) -> None:
    async with running(database_url) as h:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": ALERT_TOKEN},
            {"Authorization": f"Basic {ALERT_TOKEN}"},
            {"Authorization": f"Bearer {ALERT_TOKEN}x"},
        ):
            status, body = await _post(h, "generic", QUEUE_ALERT, headers)
            assert status == 401 and "bearer token" in body["error"]
        assert await _alerts(database_url) == []


async def test_bad_bodies_get_400_naming_the_field(database_url: str) -> None:
    async with running(database_url) as h:
        cases: list[tuple[str, Any, str]] = [
            ("generic", b"{not json", "$"),
            ("generic", b"\xff\xfe", "$"),
            ("alertmanager", {**FIRING, "version": "3"}, "version"),
            ("alertmanager", {**FIRING, "alerts": "nope"}, "alerts"),
            ("alertmanager", {k: v for k, v in FIRING.items() if k != "groupKey"}, "groupKey"),
            ("generic", {"hello": "world"}, ""),
            ("grafana", [], ""),
        ]
        for source, body, field in cases:
            status, answer = await _post(h, source, body)
            assert status == 400, (source, body, answer)
            assert answer["error"] and answer["field"].startswith(field), answer
        assert await _alerts(database_url) == []
        async with h.http.get(f"{h.bot_url}/healthz") as r:
            assert r.status == 200


async def test_nothing_is_half_stored(database_url: str) -> None:
    async with running(database_url) as h:
        broken = json.loads(json.dumps(FIRING))
        broken["alerts"][1]["labels"] = "not-an-object"
        status, answer = await _post(h, "alertmanager", broken)
        assert status == 400 and answer["field"].startswith("alerts[1]")
        assert await _alerts(database_url) == []


async def test_oversized_bodies_get_413(database_url: str) -> None:
    small = Settings(server=dataclasses.replace(ServerSettings(), max_body_bytes=2048))
    async with running(database_url, settings=small) as h:
        big = {**QUEUE_ALERT, "message": "x" * 4096}
        status, body = await _post(h, "generic", big)
        assert status == 413 and "2048" in body["error"]
        assert (await _post(h, "generic", QUEUE_ALERT))[0] == 202
