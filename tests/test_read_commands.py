"""/queue-status and /integration-status against the demo backends on a loopback port."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.config.platform import IntegrationSettings, IntegrationsSettings
from bot.db.models import Alert
from bot.operations.integration_probe import probe_tick
from bot.web.keys import LISTENERS, SERVICES
from tests.db_reads import incidents, rows, timeline
from tests.harness import eventually, running
from tests.ops_support import answer, audited, demo_backends, ops_settings, seen_by
from tests.settling import settled


async def test_queue_status_judges_each_queue_and_is_audited(database_url: str) -> None:
    async with (
        demo_backends() as backend,
        running(database_url, settings=ops_settings(backend.url)) as h,
    ):
        ack = await h.slash("/queue-status")
        assert ack.status == 200
        shown = await answer(h, "U0ONCALL", "whatsapp-outbound")
        assert "1,840" in shown.text + str(shown.blocks)
        assert ":red_circle:" in str(shown.blocks)
        assert not [m for m in seen_by(h, "U0IC") if "whatsapp-outbound" in m.text]  # private
        one = await h.slash("/queue-status rentguy")
        assert one.status == 200
        await answer(h, "U0ONCALL", "rentguy")
        await h.slash("/queue-status nosuchqueue")
        missing = await answer(h, "U0ONCALL", "nosuchqueue")
        assert "rentguy" in missing.text + str(missing.blocks)  # the known ones are listed
        audit = await audited(database_url, 3)
        assert [a.decision for a in audit] == ["allowed"] * 3
        assert audit[0].backend_request == "queues: GET /metrics/queues"
        assert audit[0].status == 200 and audit[0].duration_ms is not None
        assert [a.outcome for a in audit] == ["ok", "ok", "unknown_queue"]


async def test_bad_arguments_are_refused_before_any_backend_call(database_url: str) -> None:
    async with (
        demo_backends() as backend,
        running(database_url, settings=ops_settings(backend.url)) as h,
    ):
        for text in ("/queue-status ../../admin", "/queue-status a b", "/integration-status nope",
                     "/integration-status --verbose", "/queue-status %2e%2e"):  # fmt: skip
            ack = await h.slash(text)
            assert ack.status == 200 and "Usage:" in ack.json()["text"], text
        await settled(h)
        assert backend.state.requests == []


async def test_failures_each_get_a_clear_answer_and_the_breaker_opens(database_url: str) -> None:
    async with demo_backends() as backend:
        settings = ops_settings(backend.url, timeout=0.3, retries=0)
        async with running(database_url, settings=settings) as h:
            backend.state.set_switch("queues", "ratelimited", retry_after=30)
            await h.slash("/queue-status")
            await answer(h, "U0ONCALL", "Try again in 30 s")
        async with running(database_url, settings=settings) as h:  # a fresh breaker
            cases = [
                ("unavailable", "HTTP 503"),
                ("slow", "did not answer within"),
                ("down", "could not reach"),
            ]
            for mode, said in cases:
                backend.state.set_switch("queues", mode, slow_seconds=2)
                await h.slash("/queue-status")
                await answer(h, "U0ONCALL", said)
            # Three failures in a row open the breaker: no request is made, and it says so.
            before = len(backend.state.requests)
            await h.slash("/queue-status")
            await answer(h, "U0ONCALL", "not called for")
            assert len(backend.state.requests) == before
            health = await h.http.get(f"{h.bot_url}/healthz")
            assert health.status == 200


async def test_integration_status_caches_and_force_checks_again(database_url: str) -> None:
    async with (
        demo_backends() as backend,
        running(database_url, settings=ops_settings(backend.url)) as h,
    ):
        await h.slash("/integration-status")
        first = await answer(h, "U0ONCALL", "whatsapp")
        assert "0 of 6" in first.text or ":large_green_circle:" in str(first.blocks)
        backend.state.set_switch("whatsapp", "down")
        calls = len(backend.state.requests)
        await h.slash("/integration-status whatsapp")
        cached = await answer(h, "U0ONCALL", "cached")
        assert "--force" in str(cached.blocks) and len(backend.state.requests) == calls
        await h.slash("/integration-status whatsapp --force")
        forced = await answer(h, "U0ONCALL", "PORTAL")
        assert ":red_circle:" in str(forced.blocks)
        assert backend.state.requests[-1] == ("GET", "/api/integrations/status?force=true")


async def test_hanging_health_urls_cost_one_timeout_not_one_each(database_url: str) -> None:
    async with demo_backends() as backend:
        items = {
            n: IntegrationSettings(health_path=f"/health/{n}")
            for n in ("mawaqit", "whatsapp", "insurer", "pms")
        }
        settings = ops_settings(backend.url, timeout=0.5)
        settings = replace(
            settings, integrations=IntegrationsSettings(items=items, probe_every=None)
        )
        for name in ("whatsapp", "insurer", "pms"):
            backend.state.set_switch(name, "slow", slow_seconds=3)
        async with running(database_url, settings=settings) as h:
            await h.slash("/integration-status --force")
            shown = await answer(h, "U0ONCALL", "3 of 4")
            assert "no answer within 0.5 s" in str(shown.blocks)  # (bench/ times it)
            assert ":large_green_circle:" in str(shown.blocks)  # mawaqit answered


async def test_a_command_in_a_war_room_goes_on_its_timeline(database_url: str) -> None:
    async with (
        demo_backends() as backend,
        running(database_url, settings=ops_settings(backend.url)) as h,
    ):
        await h.slash("/incident declare critical Queue backlog")
        incident_room = await eventually(
            lambda: next(
                (c for c in h.ws.channels.values() if c.name.startswith("inc-") and c.pins), None
            ),
            within=20,
        )
        await h.slash("/queue-status whatsapp-outbound", channel=incident_room.name)
        await answer(h, "U0ONCALL", "whatsapp-outbound", channel=incident_room.name)

        async def entry() -> Any:
            [incident] = await incidents(database_url)
            events = await timeline(database_url, incident.id)
            return next((e for e in events if e.kind == "backend.call"), None)

        event = await eventually(entry)
        assert "whatsapp-outbound critical" in event.text
        assert event.actor == "U0ONCALL" and event.data["request"] == "GET /metrics/queues"


async def test_the_periodic_probe_raises_an_incident_and_resolves_its_alert(
    database_url: str,
) -> None:
    async with demo_backends() as backend:
        settings = ops_settings(backend.url)
        settings = replace(settings, integrations=replace(settings.integrations, probe_every=None))
        async with running(database_url, settings=settings) as h:
            services = h.app[SERVICES]
            backend.state.set_switch("whatsapp", "down")
            assert await probe_tick(services) == []
            assert await probe_tick(services) == []
            assert [(t.name, t.kind) for t in await probe_tick(services)] == [("whatsapp", "raise")]
            assert await probe_tick(services) == []  # raised once
            [incident] = await eventually(lambda: incidents(database_url))
            assert incident.title.startswith("Integration whatsapp is down")
            assert incident.severity == "critical"
            backend.state.set_switch("whatsapp", "ok")
            assert [t.kind for t in await probe_tick(services)] == ["resolve"]
            [alert] = await rows(database_url, select(Alert))
            assert alert.status == "resolved" and "PORTAL" in alert.description


async def test_a_command_acknowledged_before_shutdown_still_answers(database_url: str) -> None:
    """Bolt acks a command and runs its work in a task of its own: a replica that stops
    right after the ack (a rolling deploy) waits for that work, so the answer still comes."""
    async with demo_backends() as backend:
        backend.state.set_switch("queues", "slow", slow_seconds=1.5)
        settings = ops_settings(backend.url, timeout=5, retries=0)
        async with running(database_url, settings=settings) as h:
            assert (await h.slash("/queue-status rentguy")).status == 200
            await eventually(lambda: backend.state.requests)  # the backend call is under way
            listeners = h.app[LISTENERS]
            assert listeners.count == 1
        # The replica has stopped (its app cleaned up); the answer had come first.
        assert listeners.count == 0
        shown = [m for m in seen_by(h, "U0ONCALL") if "rentguy" in m.text + json.dumps(m.blocks)]
        assert shown, [m.text for m in seen_by(h, "U0ONCALL")]
