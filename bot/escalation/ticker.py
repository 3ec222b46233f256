"""The escalation clock: deadlines are rows; a tick claims the due ones with
`FOR UPDATE SKIP LOCKED` and fires each exactly once, even with several replicas; rows
missed while no process ran fire late, once, at the next tick."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import EscalationPolicy, NotifyTarget
from bot.core.deadlines import human_duration
from bot.core.escalation import OWED, Facts, Step, decide
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import OPEN_STATES
from bot.db.deadlines import cancel_clock, claim_due_deadlines, plan_clock, plan_deadline
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.incidents import (
    incident_state,
    lock_incident_unless_busy,
    record,
    role_holder,
)
from bot.db.models import EscalationDeadline, Incident
from bot.escalation.email_step import escalation_email_block
from bot.infra.templates import Mrkdwn
from bot.outbox.requests import (
    channel_ref,
    request_archive,
    request_clock_refresh,
    request_message,
    request_room_message,
)
from bot.runtime.ports import EscalationPorts
from bot.slack import blocks
from bot.tickets.webhook import request_ticket

log = logging.getLogger(__name__)
BATCH = 100
MAX_BATCHES = 20  # per tick: 2,000 steps; the rest at the next tick
STEP_TITLES = {
    Step.TEAM_LEAD: "the team lead",
    Step.CTO: "the CTO/owner",
    Step.PRODUCT_OWNER: "the product owner",
}
WORKER = f"{socket.gethostname()}:{os.getpid()}"


async def set_severity(
    session: AsyncSession,
    incident: Incident,
    severity: str,
    policy: EscalationPolicy | None,
    entry: TimelineEntry,
    now: datetime,
) -> None:
    """The one way an incident's severity changes (by hand or by a more severe alert): the
    incident, its timeline line (`entry`), and, while it is open, the new severity's clock
    from now — a warning turned critical gets its DR plan."""
    incident.severity = severity
    incident.version += 1
    incident.updated_at = now
    if incident.state in OPEN_STATES:
        await cancel_clock(session, incident.id, now)
        await plan_clock(session, incident, policy, now)
    await record(session, incident.id, entry, now)


async def clock_tick(services: EscalationPorts) -> int:
    """Fire every due step once (batch after batch while they are full); the number handled."""
    handled = 0
    for _ in range(MAX_BATCHES):
        done = await _tick_batch(services)
        handled += max(done, 0)
        if done < BATCH:
            break
    return handled


async def _tick_batch(services: EscalationPorts) -> int:
    now = services.clock.now()
    try:
        async with services.db.begin() as session:
            rows = await claim_due_deadlines(session, now, BATCH)
            # Incident order: replicas holding steps of the same incidents then queue their
            # writes (the clock message's debounce row) in one order and cannot deadlock.
            touched: set[int] = set()
            for row in sorted(rows, key=lambda r: (r.incident_id, r.due_at, r.id)):
                if await _handle(session, services, row, now):
                    touched.add(row.incident_id)
            for incident_id in sorted(touched):
                await request_clock_refresh(session, incident_id, now)
    except DATABASE_UNAVAILABLE as exc:
        log.warning(
            "clock tick rolled back; its steps fire at the next tick",
            extra={"error": type(exc).__name__},
        )
        return -1
    return len(rows)


async def _handle(
    session: AsyncSession, services: EscalationPorts, row: EscalationDeadline, now: datetime
) -> bool:
    """Fire or retire one row; True when the room's clock message needs a refresh."""
    # Locked, so the decision sees what an action in flight (an update, an ack) commits;
    # while one holds the incident the step waits for the next tick instead of misfiring.
    incident = await lock_incident_unless_busy(session, row.incident_id)
    if incident is None and await incident_state(session, row.incident_id) is not None:
        return False
    step = Step(row.step)
    policy = services.settings.escalation.get(incident.severity) if incident else None
    if incident is None or policy is None:
        row.cancelled_at = now
        return False
    commander = await role_holder(session, incident.id, "commander")
    facts = Facts(
        open=incident.state in OPEN_STATES,
        created_at=incident.created_at,
        acknowledged=incident.state != "triggered",  # a reopened incident needs a new ack
        has_commander=commander is not None,
        last_update_at=incident.last_update_at,
    )
    decision = decide(step, row.due_at, facts, policy, now)
    if decision.fire:
        row.fired_at, row.fired_by = now, WORKER
        await _fire(session, services, incident, step, row, policy, commander, now)
        services.metrics.clock_steps.labels(step.value).inc()
        if decision.breach:
            services.metrics.clock_breaches.labels(step.value).inc()
    else:
        row.cancelled_at = now
    if decision.next_due is not None:
        plan_deadline(session, incident.id, step, row.sequence + 1, decision.next_due)
    return decision.fire or decision.next_due is not None


def _who(target: NotifyTarget | None, fallback: str) -> str:
    if target is None or not (target.users or target.usergroups):
        return fallback
    people = [blocks.user_mention(u) for u in target.users]
    people += [f"<!subteam^{g}>" for g in target.usergroups if g.isalnum()]
    return " ".join(people)


async def _fire(
    session: AsyncSession,
    services: EscalationPorts,
    incident: Incident,
    step: Step,
    row: EscalationDeadline,
    policy: EscalationPolicy,
    commander: str | None,
    now: datetime,
) -> None:
    if step is Step.TICKET:
        await request_ticket(session, services, incident, now)
    elif step is Step.ARCHIVE:
        await request_archive(session, incident, now)
    else:
        await _notify(session, services, incident, step, row, policy, commander, now)
    kind = EventKind.CLOCK_BREACH if step in OWED else EventKind.CLOCK_STEP
    await record(
        session,
        incident.id,
        TimelineEntry(
            kind=kind,
            occurred_at=now,
            text=f"Clock: {step.value} ({'breached' if step in OWED else 'fired'})",
            data={"step": step.value, "due_at": row.due_at.isoformat(), "sequence": row.sequence},
        ),
        now,
    )


async def _notify(
    session: AsyncSession,
    services: EscalationPorts,
    incident: Incident,
    step: Step,
    row: EscalationDeadline,
    policy: EscalationPolicy,
    commander: str | None,
    now: datetime,
) -> None:
    target = policy.notify.get(step.value)
    fallback = blocks.user_mention(commander) if commander and step is Step.UPDATE else "<!here>"
    text = services.templates.render(
        "clock_step.md.j2",
        step=step.value,
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity,
        late=human_duration(now - row.due_at),
        every=human_duration(policy.update_every) if policy.update_every else "",
        open_for=human_duration(now - incident.created_at),
        step_title=STEP_TITLES.get(step, step.value),
        who=Mrkdwn(_who(target, fallback)),
    )
    found = [blocks.section(text)]
    if step in STEP_TITLES:
        title = STEP_TITLES[step]
        found.append(
            await escalation_email_block(session, services, incident, title, commander, now)
        )
    if step is Step.UPDATE:  # the update cadence offers a fresh status-page draft
        found.append(
            blocks.actions(
                "clock_update_actions",
                blocks.button(
                    services.templates.label("draft_status_update"), "sp_new", str(incident.id)
                ),
            )
        )
    await request_room_message(session, incident, text, now, found)
    if not incident.is_drill:  # a drill speaks only in its room: no channel, no DMs
        await _notify_outside(session, services, incident, step, target, text, now)


async def _notify_outside(
    session: AsyncSession,
    services: EscalationPorts,
    incident: Incident,
    step: Step,
    target: NotifyTarget | None,
    text: str,
    now: datetime,
) -> None:
    """Beyond the room: the DR plan in the announce channel; `via: dm` each user;
    `via: channel` the on-call channel (`slack.oncall_channel`), with a link to the room."""
    slack = services.settings.slack
    room = f"\n:point_right: <#{incident.channel_id}>" if incident.channel_id else ""
    outside = text + room  # a link, no words: the team's templates choose the language
    places = [channel_ref(slack.announce_channel)] if step is Step.DR_PLAN else []
    if target is not None and target.via == "dm":
        places += list(target.users)
    if target is not None and target.via == "channel":
        places.append(channel_ref(slack.oncall_channel))
    for place in dict.fromkeys(places):
        shown = outside if place.startswith("#") else text
        await request_message(
            session, place, shown, [blocks.section(shown)], now, incident_id=incident.id
        )
