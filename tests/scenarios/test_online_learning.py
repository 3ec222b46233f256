"""Runbook "Arabisch Online Leren" (seed 003) with examples/online-learning.yaml: P0 production
down — respond within 5 minutes. The clock is controlled: reminders every 5 minutes while
nobody acknowledges, none after the acknowledgement; the homepage banner text in Dutch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.sandbox.workspace import Channel
from bot.web.keys import SERVICES
from tests.harness import eventually
from tests.scenarios.steps import (
    TeamSpec,
    bookmark_titles,
    everything,
    in_order,
    said,
    seen,
    team_bot,
    the_room,
    timeline_with,
)
from tests.scenarios.support import direct_messages

PRIMARY, SECONDARY = "U02PRIMARY", "U02SECONDARY"  # Emergency Contacts
ONLINE_LEARNING = TeamSpec(
    "online-learning", people={PRIMARY: "Primary On-call", SECONDARY: "Secondary On-call"}
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
NOT_ACKNOWLEDGED = "is *not acknowledged*"


def site_down(action: str = "trigger") -> dict[str, object]:
    """Sentry's "Critical Error" (level=fatal: immediate PagerDuty) as a PagerDuty Events v2
    event: P0 symptoms, the site answering HTTP 5xx. A resolve carries only the dedup key, as
    PagerDuty's do: the stored alert keeps its summary, severity and labels."""
    if action != "trigger":
        return {"event_action": action, "dedup_key": "aol-production-down"}
    return {
        "event_action": action,
        "dedup_key": "aol-production-down",
        "payload": {
            "summary": "Site unavailable: https://arabisch-leren.example.com answers HTTP 503",
            "severity": "critical",
            "source": "sentry",
            "component": "arabisch-leren-web",
            "timestamp": T0.isoformat(),
            "custom_details": {"level": "fatal", "affected": "login, dashboard, forum"},
        },
        "links": [
            {"href": "https://sentry.io/organizations/arabisch-leren/issues/", "text": "Sentry"}
        ],
    }


def reminders(room: Channel) -> int:
    return len(said(room, NOT_ACKNOWLEDGED))


async def test_production_down_is_reminded_every_five_minutes_until_acknowledged(
    pg_url: str, transport: str
) -> None:
    clock = ManualClock(T0)
    async with team_bot(pg_url, ONLINE_LEARNING, transport, clock=clock) as t:
        h, services = t.h, t.h.app[SERVICES]
        status, body = await h.alert("generic", site_down())
        assert status == 202 and body["groups"][0]["action"] == "open_incident"
        incident, room, intro = await the_room(t)
        assert incident.severity == "critical"
        assert room.name.startswith("inc-20260302-critical-site-unavailable")
        assert {PRIMARY, SECONDARY} <= set(room.members)  # invite_users: both on-calls
        assert "*CRITICAL* incident declared by an alert" in everything(intro)
        await seen(h, "aol-incidents", f"incident #{incident.id}", f"<#{room.id}>")
        assert await eventually(
            lambda: "Lovable deployments (rollback)" in bookmark_titles(room) or None
        )
        clock.advance(timedelta(seconds=1))  # the pinned clock is debounced by a second
        pinned = await seen(h, room, f"*Clock for incident #{incident.id}*")
        assert "acknowledgement: due 10:05" in pinned.text  # P0: response time < 5 minutes

        # Nobody answers: nothing before 5 minutes, then a reminder naming the primary on-call.
        clock.advance(timedelta(minutes=4, seconds=58))
        assert await clock_tick(services) == 0
        clock.advance(timedelta(seconds=1))
        await clock_tick(services)
        first = await seen(h, room, f"Incident #{incident.id} {NOT_ACKNOWLEDGED}")
        assert f"<@{PRIMARY}>" in first.text
        clock.advance(timedelta(minutes=5))  # 10 minutes: reminded again, and no commander
        await clock_tick(services)
        await eventually(lambda: reminders(room) == 2 or None)
        await seen(h, room, f"Incident #{incident.id} has *no Incident Commander*")

        # The primary on-call acknowledges and takes command: the reminders stop.
        clock.advance(timedelta(seconds=30))
        intro = t.h.intros(room)[0]
        assert (await h.press(intro, "incident_ack", user=PRIMARY)).status == 200
        await seen(h, room, f"*Incident #{incident.id} acknowledged* by <@{PRIMARY}>")
        assert (await h.press(intro, "incident_ic", user=PRIMARY)).status == 200
        await seen(h, room, f"<@{PRIMARY}> is now *Incident Commander (Primary On-Call)*")
        clock.advance(timedelta(minutes=4, seconds=30))  # 15 minutes: the secondary joins
        await clock_tick(services)
        notice = await seen(h, room, f"<@{SECONDARY}>", "has been open for 15m")
        assert "the team lead to be informed" in notice.text
        [dm] = await eventually(lambda: direct_messages(h, SECONDARY))
        assert f"Incident #{incident.id}" in dm.text and "the team lead to be informed" in dm.text
        clock.advance(timedelta(minutes=10))  # 25 minutes: still no third reminder (below)
        await clock_tick(services)

        # Triage: a deployment issue, rolled back; the homepage banner in Dutch (Communication).
        update = "Deployment issue: rolled back via Lovable Dashboard; site answers 200 again"
        await h.slash(f"/incident update {update}", user=PRIMARY, channel=room.name)
        await seen(h, room, ":loudspeaker: *Status update*", update)
        await h.slash("/statuspage-draft monitoring", user=PRIMARY, channel=room.name)
        draft = await seen(h, room, "Er is een oplossing doorgevoerd voor", button="sp_approve")
        assert "We houden het platform nauwlettend in de gaten" in everything(draft)
        assert (await h.press(draft, "sp_approve", user=PRIMARY)).status == 200
        await seen(h, room, f"Approved by <@{PRIMARY}>")

        clock.advance(timedelta(minutes=2))
        assert (await h.alert("generic", site_down("resolve")))[0] == 202
        await h.slash(
            "/incident resolve Rolled back to the previous release", user=PRIMARY, channel=room.name
        )
        checklist = everything(await seen(h, room, "Post-incident checklist"))
        assert "Homepage banner removed; users e-mailed the all-clear" in checklist
        events = await timeline_with(pg_url, incident.id, "incident.state_changed", "Resolved")
        assert reminders(room) == 2
        reminded = [e.occurred_at for e in events if e.text == "Clock: ack (breached)"]
        assert reminded == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
        in_order(
            events,
            ("alert.fired", "Site unavailable"),
            ("war_room.opened", f"#{room.name}"),
            ("clock.breach", "Clock: ack (breached)"),
            ("clock.breach", "Clock: ack (breached)"),
            ("incident.state_changed", "Acknowledged"),
            ("clock.step", "Clock: team_lead (fired)"),
            ("incident.status_update", update),
            ("alert.resolved", "Site unavailable"),
            ("incident.state_changed", "Resolved"),
        )
