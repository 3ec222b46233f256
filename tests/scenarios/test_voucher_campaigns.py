"""Seed 004, "Incident Runbooks" for the voucher & campaign platform
(examples/voucher-campaigns.yaml): each runbook end to end — PagerDuty events and the
integration probe in, the on-call in the sandbox Slack, the campaigns on the loopback demo
backends (stop/start/status), time on a ManualClock.

The seed has no "production down" (P0) runbook: there is no scenario for one here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.operations.integration_probe import probe_tick
from bot.sandbox.demo_backends import Campaign
from bot.web.keys import SERVICES
from tests.db_reads import incidents
from tests.harness import eventually
from tests.ops_support import audited
from tests.scenarios.steps_ops import (
    VOUCHER_GROUPS,
    Team,
    everything,
    kinds,
    message_in,
    room_of,
    team_bot,
    timeline_has,
)
from tests.scenarios.support import direct_messages

T0 = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)  # the config's timezone is UTC
VOUCHERS = "voucher-campaigns"
SPRING = "3f6c1a2e-8b1d-4c7e-9a0f-1b2c3d4e5f60"  # campaign ids are UUIDs (campaigns.id_pattern)
EID = "7a9e0c41-2d3b-4f5a-8c6d-0e1f2a3b4c5d"
OWN_HEALTH = ("campaign-dispatcher", "station-redeem")  # not among the demo integrations
USERS = (("U04DATALEAD", "Dana Data Platform Lead"), ("U04CSLEAD", "Cas Customer Success"))
CHANNELS = ("ops", "ops-alerts", "ops-oncall", "ops-status")


def voucher_bot(db: str, transport: str, clock: ManualClock) -> Any:
    return team_bot(
        db,
        VOUCHERS,
        transport,
        VOUCHER_GROUPS,
        clock=clock,
        channels=CHANNELS,
        own_health=OWN_HEALTH,
        users=USERS,
    )


def with_campaigns(t: Team) -> None:
    t.backend.state.campaigns[SPRING] = Campaign("Spring voucher promo", sent=300, pending=2700)
    t.backend.state.campaigns[EID] = Campaign("Eid al-Fitr vouchers", sent=1200, pending=800)


def pagerduty(dedup_key: str, summary: str, severity: str, component: str) -> dict[str, Any]:
    """A PagerDuty Events v2 trigger, as the platform's monitors page the on-call."""
    return {
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": summary,
            "severity": severity,
            "source": "vouchers-prod",
            "component": component,
        },
    }


async def probed_until_a_room(t: Team, fail_after: int) -> tuple[Any, Any]:
    """The probe's rounds, one a minute: no incident before `fail_after` failed checks."""
    services = t.h.app[SERVICES]
    clock = services.clock
    assert isinstance(clock, ManualClock)
    for _ in range(fail_after - 1):
        await probe_tick(services)
        clock.advance(timedelta(minutes=1))
    assert await incidents(t.db) == []
    await probe_tick(services)
    return await room_of(t.h, t.db)


async def confirm(t: Team, room: str, command: str, *needles: str) -> Any:
    """Type a confirmed command as the on-call and press its Confirm button."""
    await t.h.slash(command, user="U0ONCALL", channel=room)
    prompt = await message_in(t.h, room, *needles, user="U0ONCALL", button="op_confirm")
    assert (await t.h.press(prompt, "op_confirm", user="U0ONCALL")).status == 200
    return prompt


async def resume_with_a_second_on_call(t: Team, room: str, campaign: str) -> Any:
    """Resume (start) needs the on-call's Confirm and a second on-call's approval."""
    start = f"POST /campaigns/{campaign}/start"
    prompt = await confirm(t, room, f"/resume-campaign {campaign}", start)
    assert "second allowed person must approve" in everything(prompt)
    request = await message_in(t.h, room, "<@U0ONCALL>", campaign, button="op_approve")
    assert t.backend.state.campaigns[campaign].status == "paused"  # not on one person's word
    await t.h.press(request, "op_approve", user="U0IC")
    return await message_in(t.h, room, "Resumed campaign", f"*{campaign}*")


async def test_voucher_preview_failures(pg_url: str, transport: str) -> None:
    clock = ManualClock(T0)
    async with voucher_bot(pg_url, transport, clock) as t:
        h = t.h
        # Detect: Integrations Status shows voucher PNG red; the preview errors not_configured.
        t.side.set("voucher-preview", "down", "not_configured")
        incident, room = await probed_until_a_room(t, fail_after=3)
        assert incident.severity == "critical" and room.name.startswith("inc-20260302-")
        assert incident.title == "Integration voucher-preview is down (3 failed checks in a row)"
        [intro] = h.intros(room)
        said = everything(intro)
        assert "not_configured" in said
        assert "Voucher previews unavailable; fallback to code view." in said  # Mitigation
        assert "Admin UI shows its degraded copy" in said
        await message_in(h, "ops", "*CRITICAL*", f"<#{room.id}>")  # support hears of it in #ops
        await eventually(
            lambda: "Supabase Edge Functions" in {b.get("title") for b in room.bookmarks} or None
        )
        # Immediate Actions: retry the probe with /api/integrations/status?force=true.
        await h.slash("/integration-status voucher-preview --force", channel=room.name)
        shown = await message_in(h, room.name, "voucher-preview", "Fallback", user="U0ONCALL")
        assert "not_configured" in everything(shown)
        assert "/api/integrations/status?force=true" in t.side.requests
        # The Support Manager tells support in #ops: taking the role hands them the words.
        await h.slash("/incident role support <@U0COMMS>", user="U0ONCALL", channel=room.name)
        await eventually(
            lambda: [
                m for m in direct_messages(h, "U0COMMS") if "Voucher previews unavailable" in m.text
            ]
        )
        # Resolution: the EF is redeployed, previews work again; the incident is closed.
        t.side.set("voucher-preview", "up")
        clock.advance(timedelta(minutes=1))
        await probe_tick(h.app[SERVICES])
        await timeline_has(pg_url, incident.id, "alert.resolved", "voucher-preview is up again")
        await h.slash("/incident resolve EF redeployed; previews render", channel=room.name)
        await message_in(h, room.name, "resolved* by")
        # Postmortem Inputs: the checklist asks for the timeline, impacted vouchers, mitigations.
        await message_in(h, room.name, "Timeline, impacted vouchers and mitigations captured")

        seen = await kinds(pg_url, incident.id)
        for kind in ("incident.declared", "alert.fired", "war_room.opened", "war_room.announced",
                     "backend.call", "incident.role_assigned", "alert.resolved",
                     "incident.state_changed"):  # fmt: skip
            assert kind in seen, kind
        forced = await timeline_has(pg_url, incident.id, "backend.call", "--force")
        assert "1 of 1 down: voucher-preview" in forced.text


async def test_whatsapp_send_failures_pause_the_campaigns(pg_url: str, transport: str) -> None:
    clock = ManualClock(T0)
    async with voucher_bot(pg_url, transport, clock) as t:
        h, state, services = t.h, t.backend.state, t.h.app[SERVICES]
        with_campaigns(t)
        # Detect: the EF returns 5xx; PagerDuty pages with severity "error" (= critical).
        state.set_switch("whatsapp", "error500")
        page = pagerduty(
            "ef-whatsapp-send", "WhatsApp sends failing: send_failed (EF HTTP 500)", "error",
            "whatsapp",
        )  # fmt: skip
        status, answer = await h.alert("generic", page)
        assert status == 202 and answer["groups"][0]["action"] == "open_incident"
        incident, room = await room_of(h, pg_url)
        assert incident.severity == "critical"
        assert "send_failed" in everything(h.intros(room)[0])
        await message_in(h, "ops", "*CRITICAL*", f"<#{room.id}>")
        [intro] = h.intros(room)
        await h.press(intro, "incident_ack", user="U0ONCALL")  # within 5 minutes
        await message_in(h, room.name, "acknowledged* by <@U0ONCALL>")
        await h.press(intro, "incident_ic", user="U0ONCALL")  # the IC is the on-call engineer
        await message_in(h, room.name, "is now *Incident Commander (on-call engineer)*")

        await h.slash("/integration-status whatsapp", channel=room.name)
        shown = await message_in(h, room.name, "whatsapp", "Fallback", user="U0ONCALL")
        assert "Pause campaigns (Stop) to prevent further sends" in everything(shown)
        # Immediate Actions: pause campaigns (the Admin Panel's Stop) to prevent further sends.
        for campaign, name in ((SPRING, "Spring voucher promo"), (EID, "Eid al-Fitr vouchers")):
            prompt = await confirm(
                t, room.name, f"/pause-campaign {campaign} WhatsApp send_failed", name
            )
            assert f"POST /campaigns/{campaign}/stop" in everything(prompt)
            done = await message_in(h, room.name, "Paused campaign", f"*{campaign}*")
            assert done.ephemeral_to is None and "Status now: *paused*" in done.text + str(
                done.blocks
            )
            assert state.campaigns[campaign].status == "paused"
        clock.advance(timedelta(minutes=5))
        await h.slash(
            "/incident update Campaigns paused; EF returns 500 on send", channel=room.name
        )
        await message_in(h, room.name, "Campaigns paused; EF returns 500 on send")

        # Escalation: the issue persists > 15 minutes — the Data Platform Lead is told (to
        # notify the WABA provider), in the room and by DM.
        clock.advance(timedelta(minutes=10, seconds=1))
        await clock_tick(services)
        await message_in(h, room.name, "the team lead to be informed", "<@U04DATALEAD>")
        await eventually(
            lambda: [m for m in direct_messages(h, "U04DATALEAD") if "team lead" in m.text]
        )
        assert not [m for m in room.messages if "not acknowledged" in m.text]

        # Resolution: resume campaigns once the EF returns 202 (start, with a second on-call).
        state.set_switch("whatsapp", "ok")
        for campaign in (SPRING, EID):
            resumed = await resume_with_a_second_on_call(t, room.name, campaign)
            assert "Status now: *running*" in everything(resumed)
            assert state.campaigns[campaign].status == "running"
        assert state.requests.count(("POST", f"/campaigns/{SPRING}/stop")) == 1
        assert state.requests.count(("POST", f"/campaigns/{SPRING}/start")) == 1
        await h.slash(
            "/incident resolve incident_resolution: EF send_failed after a deploy, campaigns "
            "paused 15 min and resumed",
            channel=room.name,
        )
        await message_in(h, room.name, "resolved* by")

        audit = await audited(pg_url, 10)
        ran = [(a.command, a.actor) for a in audit if a.decision in ("ran", "approved")]
        assert ("/pause-campaign", "U0ONCALL") in ran and ("/resume-campaign", "U0IC") in ran
        paused = await timeline_has(pg_url, incident.id, "backend.call", SPRING, "paused")
        assert paused.data["request"] == f"POST /campaigns/{SPRING}/stop"
        await timeline_has(pg_url, incident.id, "backend.call", EID, "resumed")
        await timeline_has(pg_url, incident.id, "clock.step", "team_lead")
        await timeline_has(pg_url, incident.id, "incident.status_update", "Campaigns paused")
        assert "clock.breach" not in await kinds(pg_url, incident.id)


async def test_dispatcher_stall_stop_then_start(pg_url: str, transport: str) -> None:
    clock = ManualClock(T0)
    async with voucher_bot(pg_url, transport, clock) as t:
        h, state = t.h, t.backend.state
        with_campaigns(t)
        # Detect: the campaign shows running but targets do not advance (the EF sending for it
        # is rate limited: amber); Integrations Status shows the dispatcher red.
        state.set_switch("whatsapp", "ratelimited")
        t.side.set("campaign-dispatcher", "down", "targets not advancing for 10 minutes")
        incident, room = await probed_until_a_room(t, fail_after=3)
        assert incident.title.startswith("Integration campaign-dispatcher is down")
        said = everything(h.intros(room)[0])
        assert "replay the dispatcher with stop then start" in said  # what stop/start means
        assert "keep it paused, tell engineering" in said

        # Immediate Actions: hit `status` (the prompt reads it), pause to prevent stale state.
        prompt = await confirm(
            t, room.name, f"/pause-campaign {SPRING} dispatcher stalled", "Spring voucher promo"
        )
        assert "running" in everything(prompt)  # the status endpoint's answer
        paused = await message_in(h, room.name, "Paused campaign", f"*{SPRING}*")
        assert "2,700 pending" in everything(paused)  # the queue length, not advancing
        assert state.campaigns[SPRING].status == "paused"

        # Mitigation: once the EF is healthy, replay the dispatcher: stop (done), then start.
        state.set_switch("whatsapp", "ok")
        t.side.set("campaign-dispatcher", "up")
        started = await resume_with_a_second_on_call(t, room.name, SPRING)
        assert "Status now: *running*" in everything(started)
        assert "2,675 pending" in everything(started)  # Resolution: the targets advance again
        calls = [r for r in state.requests if r[0] == "POST" and SPRING in r[1]]
        assert calls == [
            ("POST", f"/campaigns/{SPRING}/stop"),
            ("POST", f"/campaigns/{SPRING}/start"),
        ]
        assert state.campaigns[EID].status == "running"  # the other campaign was left alone
        clock.advance(timedelta(minutes=1))
        await probe_tick(h.app[SERVICES])
        await timeline_has(pg_url, incident.id, "alert.resolved", "campaign-dispatcher is up")

        # Record actions in audit_log: every step is in the audit and on the timeline.
        audit = await audited(pg_url, 6)
        assert {a.command for a in audit} == {"/pause-campaign", "/resume-campaign"}
        assert all(a.incident_id == incident.id for a in audit)
        await timeline_has(pg_url, incident.id, "backend.call", SPRING, "paused")
        await timeline_has(pg_url, incident.id, "backend.call", SPRING, "resumed")


async def test_station_double_redemption(pg_url: str, transport: str) -> None:
    clock = ManualClock(T0)
    async with voucher_bot(pg_url, transport, clock) as t:
        h = t.h
        # Detect: the Station PWA allows a double redemption (an idempotency failure).
        t.side.set("station-redeem", "degraded", "idempotency check skipped on retry")
        page = pagerduty(
            "station-redeem-V-4821",
            "Voucher V-4821 redeemed twice at station ST-07 (/api/station/redeem)",
            "warning",
            "station-redeem",
        )
        status, answer = await h.alert("generic", page)
        assert status == 202 and answer["groups"][0]["action"] == "post"
        post = await message_in(h, "ops-alerts", "V-4821", button="alert_open_room")
        assert "*WARNING*" in post.text
        await h.press(post, "alert_open_room", user="U0ONCALL")
        incident, room = await room_of(h, pg_url)
        assert incident.severity == "warning"
        # Immediate Actions: the /api/station/redeem logs are one click away.
        await eventually(
            lambda: [b for b in room.bookmarks if "/api/station/redeem" in b.get("link", "")]
        )
        # Mitigation: what to do with a double redemption, from the integration's fallback.
        await h.slash("/integration-status station-redeem", channel=room.name)
        shown = await message_in(h, room.name, "station-redeem", "Fallback", user="U0ONCALL")
        assert "mark the voucher void and issue a replacement by hand" in everything(shown)
        await h.slash("/incident role support <@U0COMMS>", channel=room.name)
        await eventually(
            lambda: [
                m
                for m in direct_messages(h, "U0COMMS")
                if "void double-redeemed vouchers" in m.text
            ]
        )
        await h.slash(
            "/incident note V-4821 marked void; replacement V-4822 issued by hand",
            user="U0COMMS",
            channel=room.name,
        )
        # Resolution: an incident note on the Logs page, vendor support told; then resolved.
        await h.slash(
            "/incident resolve double redemption voided, vendor support told", channel=room.name
        )
        await message_in(h, room.name, "resolved* by")
        await message_in(h, room.name, "Incident note on the Logs page; vendor support told")

        note = await timeline_has(pg_url, incident.id, "note", "V-4821 marked void")
        assert note.actor == "U0COMMS"
        role = await timeline_has(pg_url, incident.id, "incident.role_assigned")
        assert "U0COMMS" in role.text or "Support Manager" in role.text
        seen = await kinds(pg_url, incident.id)
        for kind in ("incident.declared", "alert.promoted", "war_room.opened", "backend.call",
                     "incident.state_changed"):  # fmt: skip
            assert kind in seen, kind
