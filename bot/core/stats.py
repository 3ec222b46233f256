"""Incident numbers: MTTA, MTTR, time to Incident Commander, breaches. Pure."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MTTR_GOAL = timedelta(minutes=30)  # observability playbook: resolved within 30 minutes


@dataclass(frozen=True)
class IncidentTimes:
    severity: str
    created_at: datetime
    acknowledged_at: datetime | None
    commander_at: datetime | None
    resolved_at: datetime | None
    breaches: int


@dataclass(frozen=True)
class Summary:
    count: int
    by_severity: dict[str, int]
    open: int
    mtta: timedelta | None
    mttr: timedelta | None
    time_to_ic: timedelta | None
    within_goal: int  # resolved within MTTR_GOAL
    resolved: int
    breaches: int


def _mean(deltas: Sequence[timedelta]) -> timedelta | None:
    if not deltas:
        return None
    return timedelta(seconds=statistics.fmean(d.total_seconds() for d in deltas))


def summarise(incidents: Sequence[IncidentTimes]) -> Summary:
    acked = [i.acknowledged_at - i.created_at for i in incidents if i.acknowledged_at]
    fixed = [i.resolved_at - i.created_at for i in incidents if i.resolved_at]
    ic = [i.commander_at - i.created_at for i in incidents if i.commander_at]
    return Summary(
        count=len(incidents),
        by_severity=dict(Counter(i.severity for i in incidents)),
        open=sum(1 for i in incidents if i.resolved_at is None),
        mtta=_mean(acked),
        mttr=_mean(fixed),
        time_to_ic=_mean(ic),
        within_goal=sum(1 for d in fixed if d <= MTTR_GOAL),
        resolved=len(fixed),
        breaches=sum(i.breaches for i in incidents),
    )
