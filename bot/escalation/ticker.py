"""The escalation clock: deadlines are rows; a tick claims the due ones with
`FOR UPDATE SKIP LOCKED` and fires each exactly once, even with several replicas; rows
missed while no process ran fire late, once, at the next tick."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import EscalationPolicy, NotifyTarget
from bot.core.deadlines import human_duration
from bot.core.escalation import OWED, Facts, Step, decide, first_deadlines
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.alert_groups import OPEN_STATES
from bot.db.incidents import record
from bot.db.models import EscalationDeadline, Incident, RoleAssignment
from bot.escalation.email_step import escalation_email_block
from bot.infra.templates import Mrkdwn
from bot.outbox.requests import (
    channel_ref,
    request_archive,
    request_clock_refresh,
    request_message,
    request_room_message,
)
from bot.runtime.services import Services
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


async def plan_clock(
    session: AsyncSession, incident: Incident, policy: EscalationPolicy | None, start: datetime
) -> None:
    """Add the incident's deadlines from `start` (its opening, or a reopen: numbered after
    the old ones)."""
    if policy is None:
        return
    await session.flush()  # the incident's id
    sequence = await next_sequence(session, incident.id)
    for step, due_at in first_deadlines(policy, start).items():
        session.add(
            EscalationDeadline(
                incident_id=incident.id, step=step.value, sequence=sequence, due_at=due_at
            )
        )


async def next_sequence(session: AsyncSession, incident_id: int) -> int:
    """Deadlines planned now are numbered after every earlier one of the incident."""
    taken = await session.scalar(
        select(func.max(EscalationDeadline.sequence)).where(
            EscalationDeadline.incident_id == incident_id
        )
    )
    return 0 if taken is None else taken + 1


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


async def cancel_clock(session: AsyncSession, incident_id: int, now: datetime) -> None:
    await session.execute(
        update(EscalationDeadline)
        .where(
            EscalationDeadline.incident_id == incident_id,
            EscalationDeadline.fired_at.is_(None),
            EscalationDeadline.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )


async def clock_tick(services: Services) -> int:
    """Fire every due step once (batch after batch while they are full); the number handled."""
    handled = 0
    for _ in range(MAX_BATCHES):
        done = await _tick_batch(services)
        handled += max(done, 0)
        if done < BATCH:
            break
    return handled


async def _tick_batch(services: Services) -> int:
    now = services.clock.now()
    try:
        async with services.db.begin() as session:
            rows = (
                (
                    await session.execute(
                        select(EscalationDeadline)
                        .where(
                            EscalationDeadline.fired_at.is_(None),
                            EscalationDeadline.cancelled_at.is_(None),
                            EscalationDeadline.due_at <= now,
                        )
                        .order_by(EscalationDeadline.due_at, EscalationDeadline.id)
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            # Incident order: replicas holding steps of the same incidents then queue their
            # writes (the clock message's debounce row) in one order and cannot deadlock.
            touched: set[int] = set()
            for row in sorted(rows, key=lambda r: (r.incident_id, r.due_at, r.id)):
                if await _handle(session, services, row, now):
                    touched.add(row.incident_id)
            for incident_id in sorted(touched):
                await request_clock_refresh(session, incident_id, now)
    except (OperationalError, DBAPIError, OSError) as exc:
        log.warning(
            "clock tick rolled back; its steps fire at the next tick",
            extra={"error": type(exc).__name__},
        )
        return -1
    return len(rows)


async def _handle(
    session: AsyncSession, services: Services, row: EscalationDeadline, now: datetime
) -> bool:
    """Fire or retire one row; True when the room's clock message needs a refresh."""
    incident = await session.get(Incident, row.incident_id)
    step = Step(row.step)
    policy = services.settings.escalation.get(incident.severity) if incident else None
    if incident is None or policy is None:
        row.cancelled_at = now
        return False
    commander = await session.scalar(
        select(RoleAssignment.user_id).where(
            RoleAssignment.incident_id == incident.id, RoleAssignment.role == "commander"
        )
    )
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
        session.add(
            EscalationDeadline(
                incident_id=incident.id,
                step=step.value,
                sequence=row.sequence + 1,
                due_at=decision.next_due,
            )
        )
    return decision.fire or decision.next_due is not None


def _who(target: NotifyTarget | None, fallback: str) -> str:
    if target is None or not (target.users or target.usergroups):
        return fallback
    people = [blocks.user_mention(u) for u in target.users]
    people += [f"<!subteam^{g}>" for g in target.usergroups if g.isalnum()]
    return " ".join(people)


async def _fire(
    session: AsyncSession,
    services: Services,
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
    services: Services,
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
    services: Services,
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
