"""The escalation clock's rules: which steps an incident's policy plans, and what a step
does when its time comes. Pure: facts and `now` in, a decision out.

Seed defaults (observability playbook, integration runbook): ack within 2 min (critical) /
5 min (warning), reminded until acknowledged; an Incident Commander within 10 min; a status
update at least every 15 min; the DR plan when a critical incident is open at 10 min; team
lead at 30 min; CTO at 2 h; product owner at 30 min of customer impact; a ticket at once
(critical) or after 15 min (warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.config.settings import EscalationPolicy


class Step(StrEnum):
    ACK = "ack"
    IC = "ic"
    UPDATE = "update"
    DR_PLAN = "dr_plan"
    TEAM_LEAD = "team_lead"
    CTO = "cto"
    PRODUCT_OWNER = "product_owner"
    TICKET = "ticket"
    ARCHIVE = "archive"  # planned on resolve (post_incident.archive_after), not by a policy


# A breach: something people owed was not done in time.
OWED = (Step.ACK, Step.IC, Step.UPDATE)


@dataclass(frozen=True)
class Facts:
    open: bool
    created_at: datetime
    acknowledged: bool
    has_commander: bool
    last_update_at: datetime | None


@dataclass(frozen=True)
class Decision:
    fire: bool
    breach: bool
    next_due: datetime | None  # the step's next row, if it goes on
    reason: str


def first_deadlines(policy: EscalationPolicy, start: datetime) -> dict[Step, datetime]:
    """Each step the policy turns on, due after `start` (the incident's opening)."""
    after = {
        Step.ACK: policy.ack_within,
        Step.IC: policy.ic_within,
        Step.UPDATE: policy.update_every,
        Step.DR_PLAN: policy.dr_plan_after,
        Step.TEAM_LEAD: policy.team_lead_after,
        Step.CTO: policy.cto_after,
        Step.PRODUCT_OWNER: policy.product_owner_after,
        Step.TICKET: policy.ticket_after,
    }
    return {step: start + delta for step, delta in after.items() if delta is not None}


def decide(
    step: Step, due_at: datetime, facts: Facts, policy: EscalationPolicy, now: datetime
) -> Decision:
    """What the step due at `due_at` does now. A late tick (after a restart) fires it once
    and plans the next reminder from `now`, never a burst of missed ones."""
    if step is Step.ARCHIVE:
        if facts.open:
            return Decision(False, False, None, "reopened: the room stays")
        return Decision(True, False, None, "resolved long enough: archive the room")
    if not facts.open:
        return Decision(False, False, None, "the incident is closed")
    if step is Step.ACK:
        if facts.acknowledged:
            return Decision(False, False, None, "acknowledged")
        return Decision(True, True, _again(policy.ack_reminder_every, now), "not acknowledged")
    if step is Step.IC:
        if facts.has_commander:
            return Decision(False, False, None, "has an Incident Commander")
        return Decision(True, True, _again(policy.ack_reminder_every, now), "no commander")
    if step is Step.UPDATE:
        return _update(due_at, facts, policy, now)
    return Decision(True, False, None, f"{step} at its time")


def _update(due_at: datetime, facts: Facts, policy: EscalationPolicy, now: datetime) -> Decision:
    every = policy.update_every
    if every is None:
        return Decision(False, False, None, "updates are off")
    if facts.last_update_at is not None and facts.last_update_at + every > due_at:
        return Decision(False, False, facts.last_update_at + every, "an update came in time")
    return Decision(True, True, now + every, "no status update")


def _again(every: timedelta | None, now: datetime) -> datetime | None:
    return now + every if every is not None else None
