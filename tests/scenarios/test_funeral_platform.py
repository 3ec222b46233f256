"""Runbook "Integratie Down" (seed 000) with examples/funeral-platform.yaml: Mawaqit, WhatsApp
and the insurer API going down, as the Platform Admin on-call sees it (in Dutch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.web.keys import SERVICES
from tests.db_reads import incidents
from tests.harness import eventually
from tests.scenarios.steps import (
    TeamSpec,
    alertmanager,
    bookmark_titles,
    button_words,
    buttons,
    everything,
    in_order,
    seen,
    team_bot,
    the_room,
    timeline_with,
)
from tests.scenarios.support import direct_messages

FUNERAL = TeamSpec(
    "funeral-platform",
    people={"U05TEAMLEAD": "Tarik Teamleider", "U05CTOOWNER": "Owen Eigenaar"},
    groups={"S05PLATFORMADMIN": ("U0ONCALL",)},  # Escalatie stap 1: the Platform Admin on-call
)
ONCALL = "U0ONCALL"
T0 = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)
BOOKMARKS = [
    "Integration Health (/admin/integrations)",
    "Audit logs (INTEGRATION events)",
    "Mawaqit status",
    "WhatsApp Business API status",
    "Runbook Integratie Down",
]
INCIDENT_BUTTONS = ["incident_ack", "incident_ic", "incident_update", "incident_resolve"]
DUTCH_BUTTONS = ["Bevestigen", "Ik ben Incident Commander", "Update plaatsen", "Oplossen"]
MAWAQIT_FALLBACK = (
    "Moskeeën voeren beschikbaarheid handmatig in via de UI (tabel mosque_availability); "
    "toon gecachte gebedstijden."
)
WHATSAPP_FALLBACK = (
    "Schakel de chat over naar het PORTAL-kanaal, toon de banner 'WhatsApp tijdelijk niet "
    "beschikbaar', mail families; berichten wachten als WHATSAPP_QUEUED."
)
INSURER_FALLBACK = (
    "Zet ingediende claims op API_PENDING; uitvaartondernemers downloaden de PDF-facturen en "
    "uploaden ze in het verzekeraarsportaal (source = MANUAL)."
)


async def test_mawaqit_down_shows_the_manual_availability_fallback(
    pg_url: str, transport: str
) -> None:
    async with team_bot(pg_url, FUNERAL, transport) as t:
        h = t.h
        # Monitor recovery / uptime monitoring: the probe checks Mawaqit's own health URL.
        t.break_integration("mawaqit")
        assert await t.probe(2) == []
        assert await t.probe() == [("mawaqit", "raise")]  # 3 failed checks in a row
        # Escalatie — Severity Levels: one integration down is P2 (a warning, as configured
        # for each integration): posted in integratie-alerts with the fallback, no room yet.
        post = await seen(h, "integratie-alerts", "*WARNING*", "Integration mawaqit is down")
        assert f"Fallback: {MAWAQIT_FALLBACK}" in everything(post)  # whole, and only once
        assert everything(post).count("Fallback:") == 1
        assert buttons(post) == ["alert_ack", "alert_open_room"]
        assert [i for i in await incidents(pg_url) if i.channel_id] == []
        assert await t.probe() == []  # still down 5 minutes later: no second alert or post

        # P2 "Notify team, implement fallback": the on-call opens a war room from the post.
        assert (await h.press(post, "alert_open_room", user=ONCALL)).status == 200
        incident, room, intro = await the_room(t)
        assert room.name.startswith("storing-") and room.name.endswith(
            "integration-mawaqit-is-down-3-failed-checks-in-a-row"
        )
        assert incident.severity == "warning" and ONCALL in room.members  # S05PLATFORMADMIN
        shown = everything(intro)
        assert "*WARNING* storing gemeld door" in shown
        assert "Volg het runbook Integratie Down: diagnose, dan de fallback" in shown
        assert f"Fallback: {MAWAQIT_FALLBACK}" in shown  # whole: the intro cuts at 200 chars
        assert buttons(intro) == INCIDENT_BUTTONS
        assert button_words(intro) == DUTCH_BUTTONS  # the team's labels.yaml
        await seen(h, "integratie-alerts", f"storing #{incident.id}", f"<#{room.id}>")
        assert await eventually(lambda: bookmark_titles(room) == BOOKMARKS or None)
        assert await t.probe() == []  # still down: no second alert or room

        # Stap 1 of the runbook: acknowledge, check the integration, switch to the fallback.
        assert (await h.press(intro, "incident_ack", user=ONCALL)).status == 200
        await seen(h, room, f"*Storing #{incident.id} bevestigd* door <@{ONCALL}>")
        await h.slash("/integration-status mawaqit", user=ONCALL, channel=room.name)
        status = await seen(h, room, "*mawaqit* is down", user=ONCALL)
        assert f"Fallback: {MAWAQIT_FALLBACK}" in everything(status)
        note = "Moskeeën gevraagd beschikbaarheid handmatig in te voeren (mosque_availability)"
        await h.slash(f"/incident note {note}", user=ONCALL, channel=room.name)

        # Mawaqit answers again: the probe resolves its alert; the on-call closes the incident.
        t.break_integration("mawaqit", "ok")
        assert await t.probe() == [("mawaqit", "resolve")]
        await timeline_with(pg_url, incident.id, "alert.resolved")
        await h.slash(
            "/incident resolve Mawaqit weer online, moskeeën terug op sync",
            user=ONCALL,
            channel=room.name,
        )
        checklist = await seen(h, room, "Post-incident checklist")
        assert "Moskeeën terug van handmatige invoer naar Mawaqit-sync" in everything(checklist)
        assert f"voor incident #{incident.id} — 0 van" in checklist.text
        events = await timeline_with(pg_url, incident.id, "incident.state_changed", "Resolved")
        in_order(
            events,
            ("alert.promoted", "opened from the alerts channel"),
            ("war_room.opened", f"#{room.name}"),
            ("incident.state_changed", "Acknowledged"),
            ("backend.call", "/integration-status mawaqit: 1 of 1 down: mawaqit"),
            ("note", note),
            ("alert.resolved", "mawaqit is up again"),
            ("incident.state_changed", "Resolved"),
        )


async def test_whatsapp_down_switches_chat_to_the_portal_and_queues_messages(
    pg_url: str, transport: str
) -> None:
    async with team_bot(pg_url, FUNERAL, transport) as t:
        h = t.h
        # Long-term Actions: webhook monitoring alerts after 5 failed webhooks — a P2.
        t.break_integration("whatsapp")
        webhooks = alertmanager(
            "WhatsAppWebhookFailures",
            {"integration": "whatsapp", "severity": "p2", "service": "janazapp-chat"},
            "5 mislukte WhatsApp-webhooks in 10 minuten",
            description="Familie ontvangt geen updates via WhatsApp",
        )
        status, body = await h.alert("alertmanager", webhooks)
        assert status == 202 and body["groups"][0]["action"] == "post"
        post = await seen(h, "integratie-alerts", "*WARNING*", "5 mislukte WhatsApp-webhooks")
        assert buttons(post) == ["alert_ack", "alert_open_room"]
        # Labelled integration=whatsapp: the post carries the runbook's fallback right away.
        assert f"Fallback: {WHATSAPP_FALLBACK}" in everything(post)
        assert (await h.press(post, "alert_ack", user=ONCALL)).status == 200
        await seen(h, "integratie-alerts", "5 mislukte WhatsApp-webhooks", f"<@{ONCALL}>")

        # Diagnose stap 1: the integration's health, and the runbook's fallback next to it.
        await h.slash(
            "/integration-status whatsapp --force", user=ONCALL, channel="integratie-alerts"
        )
        health = everything(await seen(h, "integratie-alerts", "*whatsapp* is down", user=ONCALL))
        assert "connection reset by peer" in health
        assert "Schakel de chat over naar het PORTAL-kanaal" in health
        assert "berichten wachten als WHATSAPP_QUEUED" in health

        # P2: implement the fallback together — the on-call opens a war room from the post.
        post = await seen(
            h, "integratie-alerts", "5 mislukte WhatsApp-webhooks", button="alert_open_room"
        )
        assert (await h.press(post, "alert_open_room", user=ONCALL)).status == 200
        incident, room, intro = await the_room(t)
        assert incident.severity == "warning" and room.name.startswith("storing-")
        assert "*WARNING* storing gemeld door" in everything(intro)
        assert f"Fallback: {WHATSAPP_FALLBACK}" in everything(intro)
        await seen(h, "integratie-alerts", f"storing #{incident.id}", f"<#{room.id}>")
        update = "Chat staat op PORTAL, banner staat aan; berichten wachten als WHATSAPP_QUEUED"
        await h.slash(f"/incident update {update}", user=ONCALL, channel=room.name)
        await seen(h, room, f":loudspeaker: *Statusupdate* van <@{ONCALL}>", update)

        # WhatsApp is back: the webhook alert resolves; once the WHATSAPP_QUEUED messages are
        # resent, the on-call resolves and the checklist asks for exactly that.
        t.break_integration("whatsapp", "ok")
        resolved = alertmanager(
            "WhatsAppWebhookFailures",
            {"integration": "whatsapp", "severity": "p2", "service": "janazapp-chat"},
            "5 mislukte WhatsApp-webhooks in 10 minuten",
            description="Familie ontvangt geen updates via WhatsApp",
            status="resolved",
        )
        assert (await h.alert("alertmanager", resolved))[0] == 202
        await h.slash(
            "/incident resolve WhatsApp weer bereikbaar, WHATSAPP_QUEUED verstuurd",
            user=ONCALL,
            channel=room.name,
        )
        checklist = everything(await seen(h, room, "Post-incident checklist"))
        assert "Gemiste WhatsApp-berichten (WHATSAPP_QUEUED) opnieuw verstuurd" in checklist
        events = await timeline_with(pg_url, incident.id, "incident.state_changed", "Resolved")
        in_order(
            events,
            ("alert.promoted", "opened from the alerts channel"),
            ("war_room.opened", f"#{room.name}"),
            ("incident.status_update", update),
            ("alert.resolved", "5 mislukte WhatsApp-webhooks"),
            ("incident.state_changed", "Resolved"),
        )


async def test_insurer_api_down_puts_claims_on_api_pending_and_escalates_to_the_team_lead(
    pg_url: str, transport: str
) -> None:
    clock = ManualClock(T0)
    async with team_bot(pg_url, FUNERAL, transport, clock=clock) as t:
        h, services = t.h, t.h.app[SERVICES]
        # Long-term Actions: the insurer's health check endpoint, pinged every 5 minutes.
        t.break_integration("insurer", "unavailable")
        for _ in range(3):
            clock.advance(timedelta(minutes=5))
            transitions = await t.probe()
        assert transitions == [("insurer", "raise")]
        # One integration down: P2, a warning in integratie-alerts with the manual fallback.
        post = await seen(h, "integratie-alerts", "*WARNING*", "Integration insurer is down")
        assert f"Fallback: {INSURER_FALLBACK}" in everything(post)
        assert (await h.press(post, "alert_open_room", user=ONCALL)).status == 200
        incident, room, intro = await the_room(t)
        assert incident.severity == "warning"
        assert f"Fallback: {INSURER_FALLBACK}" in everything(intro)
        assert (await h.press(intro, "incident_ack", user=ONCALL)).status == 200
        await h.slash("/integration-status insurer", user=ONCALL, channel=room.name)
        health = everything(await seen(h, room, "*insurer* is down", user=ONCALL))
        assert "HTTP 503" in health and INSURER_FALLBACK in health
        # Immediate Actions 1 and 3 happen outside Slack; the on-call notes them.
        note = "14 claims op API_PENDING gezet; PDF-facturen handmatig geüpload (source = MANUAL)"
        await h.slash(f"/incident note {note}", user=ONCALL, channel=room.name)
        await timeline_with(pg_url, incident.id, "note", "API_PENDING")

        # P2's cadence: 30 minutes without a status update is reminded (in Dutch), and
        # Escalatie stap 2: after 30 minutes the team lead is told, to go to external support.
        clock.advance(timedelta(minutes=30))
        await clock_tick(services)
        await seen(h, room, f":alarm_clock: Al 30m geen statusupdate voor storing #{incident.id}")
        notice = await seen(h, room, "de teamleider (escaleert naar externe support)")
        assert f"Storing #{incident.id}" in notice.text and "is al 30m open" in notice.text
        assert "<@U05TEAMLEAD>" in notice.text  # Escalation Path 2, notify: dm
        [dm] = await eventually(lambda: direct_messages(h, "U05TEAMLEAD"))
        assert "de teamleider (escaleert naar externe support)" in dm.text
        update = "Verzekeraar gemaild: 14 claims in de wachtrij, nieuwe poging om 04:00"
        await h.slash(f"/incident update {update}", user=ONCALL, channel=room.name)
        await seen(h, room, ":loudspeaker: *Statusupdate*", update)

        t.break_integration("insurer", "ok")
        clock.advance(timedelta(minutes=5))
        assert await t.probe() == [("insurer", "resolve")]
        await h.slash(
            "/incident resolve Verzekeraar-API weer bereikbaar", user=ONCALL, channel=room.name
        )
        checklist = everything(await seen(h, room, "Post-incident checklist"))
        assert (
            "Claims met API_PENDING opnieuw ingediend of handmatig (source = MANUAL)" in checklist
        )
        events = await timeline_with(pg_url, incident.id, "incident.state_changed", "Resolved")
        before_update = [
            ("alert.promoted", "opened from the alerts channel"),
            ("incident.state_changed", "Acknowledged"),
            ("backend.call", "/integration-status insurer"),
            ("note", note),
        ]
        after_update = [
            ("incident.status_update", update),
            ("alert.resolved", "insurer is up again"),
            ("incident.state_changed", "Resolved"),
        ]
        # The reminder and the team lead's step come due at the same tick, in either order.
        in_order(
            events, *before_update, ("clock.breach", "Clock: update (breached)"), *after_update
        )
        in_order(events, *before_update, ("clock.step", "Clock: team_lead (fired)"), *after_update)
