"""Seed 002, the Mister DJ "Observability & Alerting Playbook" (examples/dj-booking-queues.yaml):
its §6 runbook incidents end to end — alerts over HTTP, the on-call in the sandbox Slack,
the RentGuy/Sevensa queues on the loopback demo backends, time on a ManualClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.operations.integration_probe import probe_tick
from bot.web.keys import SERVICES
from tests.db_reads import incidents
from tests.harness import eventually
from tests.ops_support import audited
from tests.scenarios.steps_ops import (
    DJ_GROUPS,
    Team,
    everything,
    kinds,
    message_in,
    room_of,
    team_bot,
    timeline_has,
)
from tests.scenarios.support import direct_messages

T0 = datetime(2026, 3, 2, 2, 12, tzinfo=UTC)  # 03:12 in Amsterdam (the config's timezone)
DJ = "dj-booking-queues"
OWN_HEALTH = ("rentguy", "sevensa", "redis", "telemetry")  # §6 rows with a health URL


def queue_alert(queue: str, severity: str, message: str, **counts: int) -> dict[str, Any]:
    """§2.3: every alert carries `queue`, `severity`, backlog and retry-age descriptions."""
    return {"queue": queue, "severity": severity, "message": message, **counts}


async def sent(t: Team, body: dict[str, Any]) -> list[dict[str, Any]]:
    status, answer = await t.h.alert("generic", body)
    assert status == 202, answer
    groups: list[dict[str, Any]] = answer["groups"]
    return groups


async def test_backlog_warning_then_critical_opens_the_dr_bridge(
    pg_url: str, transport: str
) -> None:
    clock = ManualClock(T0)
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=clock) as t:
        h = t.h
        # §6 Backlog Warning: "queue thresholds exceeded" (warning) lands in #alerts-queues.
        warning = queue_alert(
            "rentguy", "warning", "queue thresholds exceeded", backlog=320, retry_age_ms=45000
        )
        assert [g["action"] for g in await sent(t, warning)] == ["post"]
        post = await message_in(h, "alerts-queues", "WARNING", button="alert_open_room")
        assert "rentguy" in everything(post) and "backlog 320 jobs" in everything(post)
        assert has_buttons(post, "alert_ack", "alert_open_room")
        assert await incidents(pg_url) == []  # §4 Warning: the DR plan stays on standby
        assert not [m for m in h.channel("dr-war-room").messages if "rentguy" in everything(m)]
        # §4 Warning: the primary on-call acknowledges within 5 minutes and checks it is no
        # false positive: /queue-status reads GET /metrics/queues against §2.2's thresholds.
        clock.advance(timedelta(minutes=2))
        assert (await h.press(post, "alert_ack", user="U0ONCALL")).status == 200
        await eventually(lambda: "Acknowledged by <@U0ONCALL>" in everything(post) or None)
        rentguy = t.backend.state.queues["rentguy"]
        rentguy.backlog = 320
        await h.slash("/queue-status rentguy", user="U0ONCALL", channel="alerts-queues")
        await message_in(h, "alerts-queues", "backlog 320 ≥ warning 250", user="U0ONCALL")

        # §6 Backlog Critical: the same queue, now critical with retry-age: the DR bridge opens.
        clock.advance(timedelta(minutes=1))
        critical = queue_alert(
            "rentguy", "critical", "queue thresholds exceeded", backlog=1250, retry_age_ms=320000
        )
        [routed] = await sent(t, critical)
        assert routed["action"] == "open_incident"
        incident, room = await room_of(h, pg_url)
        assert incident.severity == "critical" and room.name.startswith("dr-20260302-")
        # The alerts-channel post rises to CRITICAL and links the bridge (§5.1 routing).
        await eventually(lambda: f"War room: <#{room.id}>" in everything(post) or None)
        assert "*CRITICAL*" in post.text and "backlog 1250 jobs" in everything(post)
        # §5.1: critical alerts escalate to #dr-war-room — in Dutch, as the team wrote it.
        announced = await message_in(h, "dr-war-room", f"DR-bridge geopend in <#{room.id}>")
        assert "*CRITICAL* incident #" in announced.text
        # The on-call rota, IC (DR lead) and Communications Lead are in the bridge (§4).
        await eventually(
            lambda: {"U0ONCALL", "U0LEAD", "U0IC", "U0COMMS"} <= set(room.members) or None
        )
        [intro] = h.intros(room)
        assert "*CRITICAL* incident gemeld door een alert" in everything(intro)
        assert "playbook §6" in everything(intro) and "rentguy" in everything(intro)
        # §5.3: the DR runbook docs/disaster_recovery/activation.md is bookmarked in the bridge.
        await eventually(
            lambda: "DR-runbook (activatie)" in {b.get("title") for b in room.bookmarks} or None
        )
        # §5.2: a critical alert opens a Jira OPS ticket at once, naming the queue.
        await eventually(lambda: t.side.tickets or None)
        [ticket] = t.side.tickets
        assert ticket["project"] == "OPS" and ticket["severity"] == "critical"
        # §5.2: queue name (also in the alert's labels), alert payload,
        # expected resolution time.
        assert ticket["queue"] == "rentguy" and ticket["alerts"][0]["labels"]["queue"] == "rentguy"
        assert ticket["alerts"][0]["description"] == "backlog 1250 jobs, retry age 320000 ms"
        assert ticket["expected_resolution_at"] == "2026-03-02T02:45:00+00:00"  # opened + 30m
        await message_in(h, room.name, "Opened ticket OPS-101")

        # Within 2 minutes the on-call acknowledges; an IC takes the lead (§4 Critical).
        [intro] = h.intros(room)
        await h.press(intro, "incident_ack", user="U0ONCALL")
        await message_in(h, room.name, "bevestigd* door <@U0ONCALL>")
        await h.press(intro, "incident_ic", user="U0IC")
        await message_in(h, room.name, "is nu *Incident Commander (DR-lead)*")
        # The Operations Engineer's duties carry §6 Backlog Critical's actions.
        await h.slash("/incident role ops <@U0ONCALL>", user="U0IC", channel=room.name)
        await eventually(
            lambda: [
                m for m in direct_messages(h, "U0ONCALL") if "QUEUE_REDIS_ENABLED=false" in m.text
            ]
        )
        rentguy.backlog, rentguy.retry_age_ms = 1250, 320000
        await h.slash("/queue-status rentguy", user="U0ONCALL", channel=room.name)
        await message_in(h, room.name, "backlog 1,250 ≥ critical 1,000", user="U0ONCALL")
        # The backend keeps re-sending the critical alert while it lasts (throttled, §2.2).
        services = h.app[SERVICES]
        for minutes in (3, 3):
            clock.advance(timedelta(minutes=minutes))
            assert [g["action"] for g in await sent(t, critical)] == ["update_room"]
            await clock_tick(services)
        assert count_dr_plan(t, room.name) == 0
        # §5.3: a critical alert lasting > 10 minutes activates the DR plan.
        clock.advance(timedelta(minutes=4, seconds=1))
        await clock_tick(services)
        step = await message_in(h, room.name, "*DR-plan*")
        assert "docs/disaster_recovery/activation.md" in step.text
        assert "<!subteam^S07ICONCALL>" in step.text and "<!subteam^S07COMMSDUTY>" in step.text
        await message_in(h, "dr-war-room", "*DR-plan*")
        await clock_tick(services)
        assert count_dr_plan(t, room.name) == 1  # once

        await timeline_has(pg_url, incident.id, "clock.step", "dr_plan")
        seen = await kinds(pg_url, incident.id)
        for kind in ("incident.declared", "alert.fired", "war_room.opened", "war_room.announced",
                     "war_room.invited", "ticket", "incident.state_changed",
                     "incident.role_assigned", "backend.call"):  # fmt: skip
            assert kind in seen, kind
        assert "clock.breach" not in seen  # acknowledged and led in time


async def test_a_warning_war_room_turns_critical_with_its_queue(
    pg_url: str, transport: str
) -> None:
    clock = ManualClock(T0)
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=clock) as t:
        warning = queue_alert("rentguy", "warning", "queue thresholds exceeded", backlog=320)
        await sent(t, warning)
        post = await message_in(t.h, "alerts-queues", "WARNING", button="alert_open_room")
        await t.h.press(post, "alert_open_room", user="U0ONCALL")
        incident, _room = await room_of(t.h, pg_url)
        assert incident.severity == "warning"
        clock.advance(timedelta(minutes=3))
        await sent(t, queue_alert("rentguy", "critical", "queue thresholds exceeded", backlog=1250))
        await eventually(lambda: severity_of(pg_url, incident.id, "critical"), within=5)


async def test_an_unacknowledged_warning_room_escalates_in_oncall_ops(
    pg_url: str, transport: str
) -> None:
    """§4 Warning: acknowledged within 5 minutes by the primary on-call, else "escaleer naar
    Ops Engineer (standaard on-call Slack groep #oncall-ops)" — `via: channel`."""
    clock = ManualClock(T0)
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=clock) as t:
        h = t.h
        await sent(t, queue_alert("rentguy", "warning", "queue thresholds exceeded", backlog=320))
        post = await message_in(h, "alerts-queues", "WARNING", button="alert_open_room")
        await h.press(post, "alert_open_room", user="U0LEAD")
        incident, room = await room_of(h, pg_url)
        clock.advance(timedelta(minutes=4, seconds=59))
        await clock_tick(h.app[SERVICES])
        assert not [m for m in h.channel("oncall-ops").messages if "niet bevestigd" in m.text]
        clock.advance(timedelta(seconds=2))
        await clock_tick(h.app[SERVICES])
        paged = await message_in(h, "oncall-ops", "*niet bevestigd*", "<!subteam^S07OPSONCALL>")
        assert f"<#{room.id}>" in paged.text  # a link to the war room
        await message_in(h, room.name, "*niet bevestigd*")
        await timeline_has(pg_url, incident.id, "clock.breach", "ack")


async def test_the_critical_ticket_names_its_queue(pg_url: str, transport: str) -> None:
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=ManualClock(T0)) as t:
        await sent(t, queue_alert("rentguy", "critical", "queue thresholds exceeded", backlog=1250))
        await room_of(t.h, pg_url)
        [ticket] = await eventually(lambda: t.side.tickets or None)
        assert ticket["queue"] == "rentguy"


async def test_a_warning_war_room_raised_by_hand_gets_the_dr_plan(
    pg_url: str, transport: str
) -> None:
    """§4 Warning: "meld IC alleen indien impact zich uitbreidt" — the on-call raises the
    room to critical with /incident severity; from then the critical clock runs (DR plan)."""
    clock = ManualClock(T0)
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=clock) as t:
        h, services = t.h, t.h.app[SERVICES]
        await sent(t, queue_alert("sevensa", "warning", "queue thresholds exceeded", backlog=300))
        post = await message_in(h, "alerts-queues", "WARNING", button="alert_open_room")
        await h.press(post, "alert_open_room", user="U0ONCALL")
        incident, room = await room_of(h, pg_url)
        clock.advance(timedelta(minutes=4))
        await h.slash("/incident severity critical", user="U0ONCALL", channel=room.name)
        await message_in(h, room.name, "is gewijzigd van *warning* naar *critical*")
        await h.slash("/incident ack", user="U0ONCALL", channel=room.name)
        await message_in(h, room.name, "bevestigd* door")
        clock.advance(timedelta(minutes=9, seconds=59))
        await clock_tick(services)
        assert count_dr_plan(t, room.name) == 0  # 10 minutes from the raise, not yet
        clock.advance(timedelta(seconds=2))
        await clock_tick(services)
        await message_in(h, room.name, "*DR-plan*")
        await message_in(h, "dr-war-room", "*DR-plan*")
        await timeline_has(pg_url, incident.id, "incident.severity_changed", "warning → critical")
        await timeline_has(pg_url, incident.id, "clock.step", "dr_plan")


async def test_dead_letter_alert_then_replay(pg_url: str, transport: str) -> None:
    clock = ManualClock(T0)
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=clock) as t:
        h, sevensa = t.h, t.backend.state.queues["sevensa"]
        sevensa.dead_letters = 7
        # §6 Dead-letter Alert: "Job moved to dead-letter queue" (ALERT_QUEUE_DEAD_LETTER_WARNING).
        dead = queue_alert(
            "sevensa", "warning", "Job moved to dead-letter queue", backlog=4, dead_letters=7
        )
        await sent(t, dead)
        post = await message_in(h, "alerts-queues", "Job moved to dead-letter queue")
        assert "7 dead letters" in everything(post) and "sevensa" in everything(post)
        # §2.3: at most once per throttle window — a repeat within 2 minutes posts nothing new.
        clock.advance(timedelta(seconds=30))
        assert [g["action"] for g in await sent(t, dead)] != ["post"]
        assert sum("dead-letter" in m.text for m in h.bot_messages("alerts-queues")) == 1
        await h.press(post, "alert_ack", user="U0ONCALL")
        await h.press(post, "alert_open_room", user="U0ONCALL")
        incident, room = await room_of(h, pg_url)

        # The on-call looks at the queue, dry-runs the replay, then replays after the fix (§6).
        await h.slash("/queue-status sevensa", user="U0ONCALL", channel=room.name)
        status = await message_in(h, room.name, "sevensa", user="U0ONCALL", within=15)
        assert "7" in everything(status)
        await h.slash("/replay-deadletter sevensa --dry-run", user="U0ONCALL", channel=room.name)
        await message_in(h, room.name, "would be replayed", user="U0ONCALL")
        assert sevensa.dead_letters == 7  # a dry run changes nothing
        await h.slash("/replay-deadletter sevensa", user="U0ONCALL", channel=room.name)
        prompt = await message_in(h, room.name, "7 waiting", user="U0ONCALL", button="op_confirm")
        assert "POST /integrations/sevensa/deadletter/replay" in everything(prompt)
        assert sevensa.dead_letters == 7  # not before the Confirm button
        await h.press(prompt, "op_confirm", user="U0ONCALL")
        done = await message_in(h, room.name, "Replayed 7 dead letters")
        assert done.ephemeral_to is None  # the room sees what was done
        assert sevensa.dead_letters == 0 and sevensa.backlog == 11  # back in the queue
        replays = [r for r in t.backend.state.requests if r[1].endswith("/deadletter/replay")]
        assert len(replays) == 2  # the dry run and the replay

        # Only the Ops rota and the IC may replay (permissions.replay-deadletter).
        await h.slash("/replay-deadletter sevensa", user="U0COMMS", channel=room.name)
        await message_in(h, room.name, "You may not run /replay-deadletter", user="U0COMMS")
        audit = await audited(pg_url, 6)  # /queue-status, then five of /replay-deadletter
        assert [a.decision for a in audit if a.command == "/replay-deadletter"] == [
            "allowed", "confirm_asked", "confirmed", "ran", "denied",
        ]  # fmt: skip

        await timeline_has(pg_url, incident.id, "backend.call", "sevensa --dry-run: ok")
        ran = await timeline_has(pg_url, incident.id, "backend.call", "replayed 7, 0 remain")
        assert ran.data["request"] == "POST /integrations/sevensa/deadletter/replay"
        assert ran.actor == "U0ONCALL"
        seen = await kinds(pg_url, incident.id)
        assert "alert.promoted" in seen and "war_room.opened" in seen


async def test_telemetry_silent_for_five_minutes(pg_url: str, transport: str) -> None:
    clock = ManualClock(T0)
    async with team_bot(pg_url, DJ, transport, DJ_GROUPS, clock=clock, own_health=OWN_HEALTH) as t:
        h, services = t.h, t.h.app[SERVICES]
        # §6 OTEL stil: no new traces within 5 minutes — the health URL says so each minute.
        t.side.set("telemetry", "down", "no traces exported since 03:12")
        for _ in range(4):
            await probe_tick(services)
            clock.advance(timedelta(minutes=1))
        assert await incidents(pg_url) == []  # four silent minutes: not yet
        await probe_tick(services)  # the fifth failed check in a row
        incident, room = await room_of(h, pg_url)
        assert incident.severity == "critical"
        assert incident.title == "Integration telemetry is down (5 failed checks in a row)"
        [intro] = h.intros(room)
        said = everything(intro)
        assert "no traces exported since 03:12" in said
        assert "Controleer netwerk-ACLs en OTEL_ENABLED" in said  # §6: what to do
        assert "Telemetry initialized" in said
        await message_in(h, "dr-war-room", f"DR-bridge geopend in <#{room.id}>")

        await h.slash("/integration-status telemetry", user="U0ONCALL", channel=room.name)
        shown = await message_in(h, room.name, "telemetry", "OTEL_ENABLED", user="U0ONCALL")
        assert "no traces exported" in everything(shown)
        await h.slash(
            "/incident note OTEL_ENABLED stond uit na deploy; backend herstart",
            user="U0ONCALL",
            channel=room.name,
        )
        # After the restart the traces flow again ("Telemetry initialized"): the next check
        # resolves the probe's alert.
        t.side.set("telemetry", "up")
        clock.advance(timedelta(minutes=1))
        await probe_tick(services)
        await timeline_has(pg_url, incident.id, "alert.resolved", "telemetry is up again")
        await h.slash("/incident resolve telemetry weer binnen", user="U0IC", channel=room.name)
        await message_in(h, room.name, "opgelost* door")
        seen = await kinds(pg_url, incident.id)
        for kind in ("incident.declared", "alert.fired", "war_room.opened", "note",
                     "backend.call", "alert.resolved", "incident.state_changed"):  # fmt: skip
            assert kind in seen, kind


def has_buttons(message: Any, *action_ids: str) -> bool:
    found = {
        element.get("action_id")
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    }
    return set(action_ids) <= found


def count_dr_plan(t: Team, room: str) -> int:
    return sum("*DR-plan*" in m.text for m in t.h.channel(room).messages)


async def severity_of(db: str, incident_id: int, severity: str) -> bool:
    return any(i.id == incident_id and i.severity == severity for i in await incidents(db))
