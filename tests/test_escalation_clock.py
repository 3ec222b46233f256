"""The escalation clock: pure rules with a controlled clock, then end to end: steps fire once,
late but once, and never twice with three replicas on one database."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config.settings import NotifyTarget, Settings
from bot.core.escalation import Facts, Step, decide, first_deadlines
from bot.db.models import EscalationDeadline
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.web.keys import SERVICES
from tests.db_reads import incidents, rows, timeline
from tests.harness import Harness, eventually, running
from tests.scenarios.support import direct_messages
from tests.settling import settled

T0 = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
CRITICAL = Settings().escalation["critical"]
WARNING = Settings().escalation["warning"]


def facts(**changes: object) -> Facts:
    base = {
        "open": True,
        "created_at": T0,
        "acknowledged": False,
        "has_commander": False,
        "last_update_at": None,
    }
    return Facts(**{**base, **changes})  # type: ignore[arg-type]


def test_the_seed_policies_plan_these_steps() -> None:
    planned = {s: d - T0 for s, d in first_deadlines(CRITICAL, T0).items()}
    assert planned == {
        Step.ACK: timedelta(minutes=2),
        Step.IC: timedelta(minutes=10),
        Step.UPDATE: timedelta(minutes=15),
        Step.DR_PLAN: timedelta(minutes=10),
        Step.TEAM_LEAD: timedelta(minutes=30),
        Step.CTO: timedelta(hours=2),
        Step.PRODUCT_OWNER: timedelta(minutes=30),
        Step.TICKET: timedelta(0),
    }
    warning = {s: d - T0 for s, d in first_deadlines(WARNING, T0).items()}
    assert warning[Step.ACK] == timedelta(minutes=5) and Step.DR_PLAN not in warning
    assert warning[Step.TICKET] == timedelta(minutes=15)


def test_ack_is_reminded_until_acknowledged_and_late_ticks_fire_once() -> None:
    due = T0 + timedelta(minutes=2)
    first = decide(Step.ACK, due, facts(), CRITICAL, due)
    assert first.fire and first.breach and first.next_due == due + timedelta(minutes=2)
    late = decide(Step.ACK, due, facts(), CRITICAL, due + timedelta(hours=1))
    assert late.fire and late.next_due == due + timedelta(hours=1, minutes=2)  # no burst
    done = decide(Step.ACK, due, facts(acknowledged=True), CRITICAL, due)
    assert not done.fire and done.next_due is None


def test_an_update_in_time_moves_the_update_deadline() -> None:
    due = T0 + timedelta(minutes=15)
    updated = facts(last_update_at=T0 + timedelta(minutes=12))
    moved = decide(Step.UPDATE, due, updated, CRITICAL, due)
    assert not moved.fire and moved.next_due == T0 + timedelta(minutes=27)
    silent = decide(Step.UPDATE, due, facts(), CRITICAL, due)
    assert silent.fire and silent.breach and silent.next_due == due + timedelta(minutes=15)


@pytest.mark.parametrize("step", [s for s in Step if s is not Step.ARCHIVE])
def test_nothing_fires_for_a_closed_incident(step: Step) -> None:
    decision = decide(step, T0, facts(open=False), CRITICAL, T0 + timedelta(hours=3))
    assert not decision.fire and decision.next_due is None


def test_the_archive_step_fires_only_for_a_closed_incident() -> None:
    later = T0 + timedelta(hours=3)
    assert decide(Step.ARCHIVE, T0, facts(open=False), CRITICAL, later).fire
    kept = decide(Step.ARCHIVE, T0, facts(open=True), CRITICAL, later)
    assert not kept.fire and kept.next_due is None


def test_notices_fire_once_without_breach() -> None:
    for step in (Step.DR_PLAN, Step.TEAM_LEAD, Step.CTO, Step.PRODUCT_OWNER, Step.TICKET):
        decision = decide(step, T0, facts(acknowledged=True, has_commander=True), CRITICAL, T0)
        assert decision.fire and not decision.breach and decision.next_due is None


async def declared(h: Harness, database_url: str) -> Any:
    await h.slash("/incident declare critical WhatsApp sends failing", user="U0ONCALL")

    async def ready() -> Any:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        return stored[0] if stored and h.ws.channels[stored[0].channel_id].pins else None

    return await eventually(ready, within=20)


def said(h: Harness, channel_id: str, text: str) -> int:
    return sum(text in m.text for m in h.ws.channels[channel_id].messages)


async def test_the_clock_in_a_war_room(database_url: str) -> None:
    clock = ManualClock(T0)
    async with running(database_url, clock=clock) as h:
        incident = await declared(h, database_url)
        services = h.app[SERVICES]
        room = incident.channel_id
        channel = h.ws.channels[room]
        clock.advance(timedelta(seconds=1))  # the clock message is debounced by a second
        clock_message = await eventually(
            lambda: next((m for m in channel.messages if "*Clock for incident" in m.text), None)
        )
        assert channel.pins[1:] == [clock_message.ts] or await eventually(
            lambda: channel.pins[1:] == [clock_message.ts] or None
        )
        assert "acknowledgement: due 04:14" in clock_message.text  # 03:14 UTC in Amsterdam
        await clock_tick(services)  # the critical ticket, due at once (no webhook: skipped)
        clock.advance(timedelta(minutes=1, seconds=58))
        assert await clock_tick(services) == 0
        clock.advance(timedelta(seconds=1))
        await clock_tick(services)  # (the app's own 2 s tick may get there first: same result)
        await eventually(lambda: said(h, room, "is *not acknowledged*") == 1 or None)
        await clock_tick(services)
        await settled(h)
        assert said(h, room, "is *not acknowledged*") == 1  # fired once
        clock.advance(timedelta(minutes=2))
        await clock_tick(services)
        await eventually(lambda: said(h, room, "is *not acknowledged*") == 2 or None)
        await h.slash("/incident ack", user="U0ONCALL", channel=h.ws.channels[room].name)
        await eventually(lambda: said(h, room, "acknowledged* by") or None)
        await h.slash("/incident ic", user="U0IC", channel=h.ws.channels[room].name)
        await eventually(lambda: said(h, room, "is now *Incident Commander*") or None)
        clock.advance(timedelta(seconds=1))
        # The pinned clock is edited in place: acknowledged, a commander, nothing of theirs due.
        await eventually(
            lambda: (
                (
                    "Incident Commander:" not in clock_message.text
                    and "acknowledgement" not in clock_message.text
                    and "· acknowledged ·" in clock_message.text
                )
                or None
            )
        )
        assert clock_message.edited
        clock.advance(timedelta(minutes=6, seconds=59))  # 11 min: ack and IC done, DR plan
        await clock_tick(services)
        await eventually(lambda: said(h, room, "*DR plan*") == 1 or None)
        assert said(h, room, "is *not acknowledged*") == 2 and not said(h, room, "no Incident")
        dr = h.channel("dr-war-room")
        await eventually(lambda: sum("*DR plan*" in m.text for m in dr.messages) == 1 or None)
        await h.slash(
            "/incident update Failover running", user="U0IC", channel=h.ws.channels[room].name
        )
        await settled(h)  # the update is recorded at 11 min (the ack comes before that)
        clock.advance(timedelta(minutes=5))  # 16 min: the update came at 11
        await clock_tick(services)
        await settled(h)
        assert not said(h, room, "No status update")
        clock.advance(timedelta(minutes=11))  # 27 min: 16 since the update
        await clock_tick(services)
        await eventually(lambda: said(h, room, "No status update") == 1 or None)
        kinds = [e.kind for e in await timeline(database_url, incident.id)]
        assert kinds.count("clock.breach") == 3 and kinds.count("clock.step") == 2  # DR, ticket
        assert kinds.count("ticket") == 1  # "no ticket webhook configured"
        await h.slash("/incident resolve done", user="U0IC", channel=h.ws.channels[room].name)
        await eventually(lambda: said(h, room, "resolved* by") or None)
        clock.advance(timedelta(hours=3))
        assert await clock_tick(services) == 0  # cancelled with the incident
        metrics = await (await h.http.get(f"{h.bot_url}/metrics")).text()
        assert 'warroom_clock_breaches_total{step="ack"} 2.0' in metrics


async def test_three_replicas_fire_each_step_once_even_late(database_url: str) -> None:
    clock = ManualClock(T0)
    async with running(database_url, clock=clock, replicas=3) as h:
        incident = await declared(h, database_url)
        clock.advance(timedelta(hours=3))  # everything overdue, as after a long restart
        every = [app[SERVICES] for _, app in h.replicas]
        for _ in range(3):
            await asyncio.gather(*(clock_tick(s) for s in every))
        fired = await rows(
            database_url,
            select(EscalationDeadline.step, EscalationDeadline.sequence).where(
                EscalationDeadline.fired_at.is_not(None),
                EscalationDeadline.incident_id == incident.id,
            ),
        )
        steps = sorted(r.step for r in fired)
        assert steps == sorted(
            ["ack", "ic", "update", "dr_plan", "team_lead", "cto", "product_owner", "ticket"]
        )
        room = incident.channel_id
        await eventually(lambda: said(h, room, "*DR plan*") == 1 or None)
        await settled(h)
        assert said(h, room, "is *not acknowledged*") == 1
        cto = await eventually(
            lambda: next(
                (m for m in h.ws.channels[room].messages if "CTO/owner to be informed" in m.text),
                None,
            )
        )
        assert "Subject: [Incident #" in json.dumps(cto.blocks)  # the copy-ready e-mail


async def test_via_channel_calls_the_on_call_channel_with_a_link_to_the_room(
    database_url: str,
) -> None:
    """`via: channel` posts the step in `slack.oncall_channel` too (the playbook's
    "escalate to the Ops Engineer: on-call Slack group #oncall-ops"); `via: dm` DMs."""
    notify = {
        "ack": NotifyTarget(usergroups=("S0ONCALL",), via="channel"),
        "ic": NotifyTarget(users=("U0LEAD",), via="dm"),
    }
    critical = replace(CRITICAL, notify=notify)
    settings = Settings(escalation={**Settings().escalation, "critical": critical})
    clock = ManualClock(T0)
    async with running(database_url, settings=settings, clock=clock) as h:
        incident = await declared(h, database_url)
        room = incident.channel_id
        oncall = h.channel("oncall-ops")
        assert not [m for m in oncall.messages if "acknowledged" in m.text]
        clock.advance(timedelta(minutes=2, seconds=1))
        await clock_tick(h.app[SERVICES])
        paged = await eventually(
            lambda: [m for m in oncall.messages if "is *not acknowledged*" in m.text]
        )
        assert "<!subteam^S0ONCALL>" in paged[0].text
        assert f":point_right: <#{room}>" in paged[0].text
        assert said(h, room, "is *not acknowledged*") == 1  # the room hears it too

        clock.advance(timedelta(minutes=8))  # past the 10-minute IC deadline
        await clock_tick(h.app[SERVICES])
        dms = await eventually(
            lambda: [m.text for m in direct_messages(h, "U0LEAD") if "Incident" in m.text]
        )
        assert ":point_right:" not in dms[0]  # a DM is the room's text as it is
        assert len([m for m in oncall.messages if "Incident Commander" in m.text]) == 0
