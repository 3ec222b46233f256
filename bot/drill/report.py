"""The end-of-drill report: what happened when, against the escalation policy. Pure.

Built from the drill incident's timeline (the same events the export shows). Offsets are
from the drill's start (`+MM:SS`); duties are measured from the room's opening, as the
escalation clock measures them: acknowledge within `ack_within`, an Incident Commander
within `ic_within`, a status update at least every `update_every`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from bot.config.durations import format_duration
from bot.config.settings import EscalationPolicy
from bot.core.timeline import EventKind, TimelineEntry

_Offset = Callable[[datetime], timedelta]


@dataclass(frozen=True)
class IncidentSummary:
    id: int
    title: str
    severity: str  # now
    opened_at: datetime
    state: str
    room: str | None  # channel name


@dataclass(frozen=True)
class Duty:
    """One thing people owed, against the policy."""

    name: str
    policy: str  # "within 2m", "every 15m", "off"
    done_at: timedelta | None  # offset from the drill's start
    by: str | None
    verdict: str  # met (… to spare) | breached by … | never (due +MM:SS) | not required
    breached: bool


@dataclass(frozen=True)
class Moment:
    at: timedelta  # offset from the drill's start
    text: str
    actor: str | None = None


@dataclass(frozen=True)
class DrillReport:
    scenario: str
    title: str
    runbook: str
    started_at: datetime
    ended_at: datetime
    ended_because: str  # "resolved" | "duration" | "stopped" | "no incident"
    incident: IncidentSummary | None
    opened_severity: str | None
    duties: tuple[Duty, ...]
    steps: tuple[Moment, ...]  # escalation-clock steps that fired (breaches first-class)
    alerts: tuple[Moment, ...]
    people: tuple[Moment, ...]  # acks, roles, state changes, updates, notes
    commands: tuple[Moment, ...]
    resolved_at: timedelta | None

    @property
    def breaches(self) -> int:
        """Duties breached (each counted once, however often the clock reminded)."""
        return sum(d.breached for d in self.duties)


def offset_text(delta: timedelta) -> str:
    """`+MM:SS` (`+H:MM:SS` past an hour)."""
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes:02d}:{secs:02d}"


def build_report(
    *,
    scenario: str,
    title: str,
    runbook: str,
    started_at: datetime,
    ended_at: datetime,
    incident: IncidentSummary | None,
    events: Sequence[TimelineEntry],
    policies: Mapping[str, EscalationPolicy],
    stopped: bool = False,
) -> DrillReport:
    """`stopped`: someone ended the drill before its duration (Ctrl-C, SIGTERM)."""

    def at(when: datetime) -> timedelta:
        return when - started_at

    ordered = sorted(events, key=lambda e: e.occurred_at)
    opened = _opened_severity(ordered, incident)
    resolved = next((e for e in ordered if _state_after(e) == "resolved"), None)
    duties: tuple[Duty, ...] = ()
    if incident is not None and opened is not None:
        end = resolved.occurred_at if resolved else ended_at
        periods = _periods(ordered, opened, incident.opened_at, policies)
        duties = _duties(ordered, periods, end, ended_at, at)
    return DrillReport(
        scenario=scenario,
        title=title,
        runbook=runbook,
        started_at=started_at,
        ended_at=ended_at,
        ended_because=_ended_because(incident, resolved, stopped),
        incident=incident,
        opened_severity=opened,
        duties=duties,
        steps=tuple(_clock_moments(ordered, at)),
        alerts=tuple(
            Moment(at(e.occurred_at), e.text)
            for e in ordered
            if e.kind in (EventKind.ALERT_FIRED, EventKind.ALERT_RESOLVED)
        ),
        people=tuple(_people(ordered, at)),
        commands=tuple(
            Moment(at(e.occurred_at), e.text, e.actor)
            for e in ordered
            if e.kind is EventKind.COMMAND
        ),
        resolved_at=at(resolved.occurred_at) if resolved else None,
    )


def _ended_because(
    incident: IncidentSummary | None, resolved: TimelineEntry | None, stopped: bool
) -> str:
    if incident is None:
        return "no incident"
    if resolved is not None:
        return "resolved"
    return "stopped" if stopped else "duration"


def _opened_severity(
    events: Sequence[TimelineEntry], incident: IncidentSummary | None
) -> str | None:
    if incident is None:
        return None
    first_change = next((e for e in events if e.kind is EventKind.SEVERITY_CHANGED), None)
    before = first_change.data.get("before") if first_change else None
    return str(before) if before else incident.severity


def _state_after(event: TimelineEntry) -> str | None:
    if event.kind is not EventKind.STATE_CHANGED:
        return None
    after = event.data.get("after")
    return str(after) if after else None


@dataclass(frozen=True)
class _Period:
    """The clock as it runs from `start` under `severity`'s policy: from the opening, then
    from each severity change (which replans the clock for the new severity)."""

    start: datetime
    severity: str
    policy: EscalationPolicy


def _periods(
    events: Sequence[TimelineEntry],
    opened: str,
    opened_at: datetime,
    policies: Mapping[str, EscalationPolicy],
) -> list[_Period]:
    periods = [_Period(opened_at, opened, policies.get(opened, EscalationPolicy()))]
    for e in events:
        after = e.data.get("after")
        if e.kind is EventKind.SEVERITY_CHANGED and isinstance(after, str) and after in policies:
            periods.append(_Period(e.occurred_at, after, policies[after]))
    return periods


def _due(
    periods: Sequence[_Period], duty: str, done: datetime | None
) -> tuple[datetime, str] | None:
    """The deadline that decides `duty` (an `EscalationPolicy` field), and how it reads: the
    first one that passed while its clock ran and the duty was not done, else the one in
    force when it was done (or, never done, the last one)."""
    in_force = None
    for i, period in enumerate(periods):
        if done is not None and period.start > done:
            break
        within: timedelta | None = getattr(period.policy, duty)
        if within is None:
            in_force = None
            continue
        deadline = period.start + within
        text = f"within {format_duration(within)}"
        text += f" ({period.severity})" if len(periods) > 1 else ""
        replaced = periods[i + 1].start if i + 1 < len(periods) else None
        if (replaced is None or deadline < replaced) and (done is None or deadline < done):
            return deadline, text
        in_force = (deadline, text)
    return in_force


def _duties(
    events: Sequence[TimelineEntry],
    periods: Sequence[_Period],
    end: datetime,
    drill_end: datetime,
    at: _Offset,
) -> tuple[Duty, ...]:
    ack = next(
        (e for e in events if _state_after(e) not in (None, "triggered")),
        None,
    )
    commander = next(
        (
            e
            for e in events
            if e.kind is EventKind.ROLE_ASSIGNED and e.data.get("role") == "commander"
        ),
        None,
    )
    every = [p.policy.update_every for p in periods if p.policy.update_every is not None]
    return (
        _within("Acknowledge", ack, _due(periods, "ack_within", _at(ack)), drill_end, at),
        _within(
            "Incident Commander",
            commander,
            _due(periods, "ic_within", _at(commander)),
            drill_end,
            at,
        ),
        _updates(events, min(every) if every else None, periods[0].start, end, at),
    )


def _at(event: TimelineEntry | None) -> datetime | None:
    return event.occurred_at if event else None


def _within(
    name: str,
    event: TimelineEntry | None,
    due: tuple[datetime, str] | None,
    drill_end: datetime,
    at: _Offset,
) -> Duty:
    policy = due[1] if due else "off"
    if event is None:
        if due is None:
            return Duty(name, policy, None, None, "not required", False)
        when = offset_text(at(due[0]))
        if due[0] > drill_end:
            return Duty(name, policy, None, None, f"not due before the drill ended ({when})", False)
        return Duty(name, policy, None, None, f"never (due {when})", True)
    done = at(event.occurred_at)
    who = str(event.data.get("user") or event.actor or "") or None  # a role: who holds it
    if due is None:
        return Duty(name, policy, done, who, "done (no deadline)", False)
    if event.occurred_at <= due[0]:
        spare = format_duration(due[0] - event.occurred_at)
        return Duty(name, policy, done, who, f"met ({spare} to spare)", False)
    late = format_duration(event.occurred_at - due[0])
    return Duty(name, policy, done, who, f"breached by {late}", True)


def _updates(
    events: Sequence[TimelineEntry],
    every: timedelta | None,
    opened_at: datetime,
    end: datetime,
    at: _Offset,
) -> Duty:
    updates = [e for e in events if e.kind is EventKind.STATUS_UPDATE]
    first = updates[0] if updates else None
    done = at(first.occurred_at) if first else None
    who = first.actor if first else None
    count = f"{len(updates)} update{'s' if len(updates) != 1 else ''}"
    if every is None:
        return Duty("Status updates", "off", done, who, f"{count} (not required)", False)
    policy = f"every {format_duration(every)}"
    marks = [opened_at, *(e.occurred_at for e in updates), end]
    late = [(before, after) for before, after in pairwise(marks) if after - before > every]
    if not late:
        return Duty("Status updates", policy, done, who, f"met ({count})", False)
    before, after = late[0]
    verdict = (
        f"breached {len(late)} time(s) ({count}; first gap {format_duration(after - before)} "
        f"from {offset_text(at(before))})"
    )
    return Duty("Status updates", policy, done, who, verdict, True)


def _clock_moments(events: Sequence[TimelineEntry], at: _Offset) -> list[Moment]:
    found = []
    for e in events:
        if e.kind not in (EventKind.CLOCK_BREACH, EventKind.CLOCK_STEP):
            continue
        step = str(e.data.get("step", "?"))
        verb = "breached" if e.kind is EventKind.CLOCK_BREACH else "fired"
        found.append(Moment(at(e.occurred_at), f"{step} {verb}"))
    return found


PEOPLE_KINDS = (
    EventKind.STATE_CHANGED,
    EventKind.ROLE_ASSIGNED,
    EventKind.SEVERITY_CHANGED,
    EventKind.STATUS_UPDATE,
    EventKind.NOTE,
    EventKind.MEMBERS_INVITED,
)


def _people(events: Sequence[TimelineEntry], at: _Offset) -> list[Moment]:
    return [Moment(at(e.occurred_at), e.text, e.actor) for e in events if e.kind in PEOPLE_KINDS]
