"""Operational Runbook (seed 001) with examples/hotel-pms-automation.yaml: the hotels' PMS down
with webhook failures, and the WAHA (WhatsApp) session lost, as the on-call engineer sees it."""

from __future__ import annotations

from bot.sandbox.demo_backends import Queue
from tests.harness import eventually
from tests.scenarios.steps import (
    TeamSpec,
    alertmanager,
    bookmark_titles,
    everything,
    in_order,
    seen,
    team_bot,
    the_room,
    timeline_with,
)

HOTEL = TeamSpec(
    "hotel-pms-automation",
    people={"U03TEAMLEAD": "Hana Teamlead"},
    groups={
        "S03ONCALLENG": ("U0ONCALL",),  # Escalation Level 1: the on-call engineers
        "S03INFRATEAM": ("U0CTO",),  # Level 3: CTO / infrastructure team
    },
)
ONCALL = "U0ONCALL"
BOOKMARKS = [
    "Supabase dashboard (database performance)",
    "Logs — errors by requestId / tenantId",
    "Admin panel — manual PMS sync",
    "WAHA sessions (QR reconnect)",
    "WAHA support (GitHub issues)",
]
RUNBOOK = "https://wiki.hotel-automation.example.com/runbooks/operational#pms-down"


def webhook_failures(status: str = "firing") -> dict[str, object]:
    """Alert Thresholds, Critical: webhook processing failure rate > 5%."""
    return alertmanager(
        "PMSWebhookFailureRate",
        {"integration": "pms", "queue": "inbound-events", "severity": "critical"},
        "PMS webhook processing failure rate 7.5% (critical > 5%)",
        description="Webhook timeouts from the PMS; reservation syncs failing",
        runbook_url=RUNBOOK,
        status=status,
    )


async def test_pms_down_and_webhook_failures_are_replayed_after_recovery(
    pg_url: str, transport: str
) -> None:
    async with team_bot(pg_url, HOTEL, transport) as t:
        h = t.h
        t.break_integration("pms")
        t.backends.queues["inbound-events"] = Queue(
            backlog=1300, active_jobs=0, retry_age_ms=16 * 60_000, dead_letters=40
        )
        status, body = await h.alert("alertmanager", webhook_failures())
        assert status == 202 and body["groups"][0]["action"] == "open_incident"
        incident, room, intro = await the_room(t)
        assert room.name.startswith("inc-") and incident.severity == "critical"
        assert ONCALL in room.members  # S03ONCALLENG invited
        shown = everything(intro)
        assert "*CRITICAL* incident declared by an alert" in shown
        assert "PMS webhook processing failure rate 7.5%" in shown and "Webhook timeouts" in shown
        await seen(
            h,
            "hotel-incidents",
            f":red_circle: *CRITICAL* incident #{incident.id}: PMS",
            f"war room <#{room.id}>",
        )
        # The team's links, then the alert's runbook.
        assert await eventually(lambda: bookmark_titles(room) == [*BOOKMARKS, "Runbook"] or None)

        # Actions: acknowledge within 5 minutes, check the PMS, the inbound events.
        assert (await h.press(intro, "incident_ack", user=ONCALL)).status == 200
        await h.slash("/integration-status pms --force", user=ONCALL, channel=room.name)
        health = everything(await seen(h, room, "*pms* is down", user=ONCALL))
        assert "use manual sync in the admin panel" in health  # PMS Down, Recovery
        await h.slash("/queue-status inbound-events", user=ONCALL, channel=room.name)
        # past its own critical backlog (1,000), not the other queues' 500
        await seen(h, room, ":red_circle: *1 of 1 queue critical*", "1,300", user=ONCALL)
        note = "PMS vendor status page: outage; tenants notified (action 5)"
        await h.slash(f"/incident note {note}", user=ONCALL, channel=room.name)

        # Recovery: the PMS answers again; failed events are replayed by hand.
        t.break_integration("pms", "ok")
        assert (await h.alert("alertmanager", webhook_failures("resolved")))[0] == 202
        await h.slash("/replay-deadletter inbound-events --dry-run", user=ONCALL, channel=room.name)
        dry = ":mag: Dry run: 40 dead letters would be replayed from *inbound-events*"
        await seen(h, room, dry, user=ONCALL)
        assert t.backends.queues["inbound-events"].dead_letters == 40  # a dry run
        await h.slash("/replay-deadletter inbound-events", user=ONCALL, channel=room.name)
        prompt = await seen(h, room, "inbound-events", user=ONCALL, button="op_confirm")
        assert (await h.press(prompt, "op_confirm", user=ONCALL)).status == 200
        await seen(h, room, ":recycle: Replayed 40 dead letters from *inbound-events*; 0 remain")
        assert t.backends.queues["inbound-events"].dead_letters == 0

        await h.slash(
            "/incident resolve PMS back; 40 inbound events replayed", user=ONCALL, channel=room.name
        )
        checklist = everything(await seen(h, room, "Post-incident checklist"))
        assert "PMS: data gaps checked after recovery (manual sync where needed)" in checklist
        assert "Webhooks: no duplicate event_id in inbound_events" in checklist
        events = await timeline_with(pg_url, incident.id, "incident.state_changed", "Resolved")
        in_order(
            events,
            ("alert.fired", "PMS webhook processing failure rate 7.5%"),
            ("war_room.opened", f"#{room.name}"),
            ("incident.state_changed", "Acknowledged"),
            ("backend.call", "/integration-status pms"),
            ("backend.call", "/queue-status inbound-events"),
            ("note", note),
            ("alert.resolved", "PMS webhook processing failure rate"),
            ("backend.call", "/replay-deadletter inbound-events --dry-run: ok"),
            ("backend.call", "/replay-deadletter inbound-events: replayed 40"),
            ("incident.state_changed", "Resolved"),
        )


async def test_waha_session_lost_shows_the_qr_reconnect_and_the_dead_letters(
    pg_url: str, transport: str
) -> None:
    async with team_bot(pg_url, HOTEL, transport) as t:
        h = t.h
        # WAHA Down: session disconnected — its health URL fails three checks in a row.
        t.break_integration("waha", "unavailable")
        assert await t.probe(3) == [("waha", "raise")]
        incident, room, intro = await the_room(t)
        assert room.name.startswith("inc-") and room.name.endswith(
            "integration-waha-is-down-3-failed-checks-in-a-row"
        )
        shown = everything(intro)
        assert "*CRITICAL* incident declared by an alert" in shown
        assert "restart the WAHA session or reconnect via QR" in shown  # the fallback
        await seen(h, "hotel-incidents", f"#{incident.id}", "waha is down", f"<#{room.id}>")
        assert await eventually(lambda: bookmark_titles(room) == BOOKMARKS or None)
        assert "WAHA sessions (QR reconnect)" in bookmark_titles(room)

        assert (await h.press(intro, "incident_ack", user=ONCALL)).status == 200
        await seen(h, room, f"*Incident #{incident.id} acknowledged* by <@{ONCALL}>")
        # Failed sends pile up; the dead letters are the unrecoverable ones (Recovery).
        await h.slash("/queue-status whatsapp-outbound", user=ONCALL, channel=room.name)
        queue = await seen(h, room, ":red_circle: *1 of 1 queue critical*", "1,840", user=ONCALL)
        assert "*whatsapp-outbound* critical · backlog 1,840" in everything(queue)
        assert "12 dead letters" in everything(queue)
        note = "WAHA session restarted, reconnected via QR; waha_configurations.is_connected true"
        await h.slash(f"/incident note {note}", user=ONCALL, channel=room.name)

        t.break_integration("waha", "ok")
        assert await t.probe() == [("waha", "resolve")]
        await h.slash("/incident resolve WAHA session back", user=ONCALL, channel=room.name)
        checklist = everything(await seen(h, room, "Post-incident checklist"))
        assert "WAHA: session reconnected, retries done, dead-letter queue checked" in checklist
        events = await timeline_with(pg_url, incident.id, "incident.state_changed", "Resolved")
        in_order(
            events,
            ("alert.fired", "Integration waha is down (3 failed checks in a row)"),
            ("war_room.opened", f"#{room.name}"),
            ("incident.state_changed", "Acknowledged"),
            ("backend.call", "/queue-status whatsapp-outbound"),
            ("note", note),
            ("alert.resolved", "waha is up again"),
            ("incident.state_changed", "Resolved"),
        )
