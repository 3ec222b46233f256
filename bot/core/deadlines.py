"""What is due when for an incident, from its severity's escalation policy. Pure: `now` given.

This is what `/incident status` shows; the escalation clock (a later release) fires the
same steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.settings import EscalationPolicy


@dataclass(frozen=True)
class IncidentClock:
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    last_update_at: datetime | None
    has_commander: bool


@dataclass(frozen=True)
class Deadline:
    what: str
    due_at: datetime
    overdue: bool


def deadlines(clock: IncidentClock, policy: EscalationPolicy, now: datetime) -> list[Deadline]:
    """Open deadlines in due order; none once the incident is resolved. What people owe
    (ack, IC, update) stays listed when overdue; notifications only until their time."""
    if clock.resolved_at is not None:
        return []
    start = clock.created_at
    steps: list[tuple[str, timedelta | None, datetime]] = []
    if clock.acknowledged_at is None:
        steps.append(("acknowledgement", policy.ack_within, start))
    if not clock.has_commander:
        steps.append(("Incident Commander", policy.ic_within, start))
    steps.append(("status update", policy.update_every, clock.last_update_at or start))
    owed = [
        Deadline(what, base + after, base + after <= now) for what, after, base in steps if after
    ]
    notices = [
        ("DR plan announced", policy.dr_plan_after),
        ("team lead informed", policy.team_lead_after),
        ("CTO informed", policy.cto_after),
        ("product owner informed", policy.product_owner_after),
        ("ticket opened", policy.ticket_after),
    ]
    coming = [
        Deadline(what, start + after, False)
        for what, after in notices
        if after is not None and start + after > now
    ]
    return sorted([*owed, *coming], key=lambda d: d.due_at)


def human_duration(delta: timedelta) -> str:
    """`3m`, `1h 05m`, `2d 3h` — for people, rounded down to the minute."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"
