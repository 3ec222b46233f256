"""The state machine, the deadlines and `/incident` parsing: pure, time given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.settings import Settings, Severity
from bot.core.deadlines import IncidentClock, deadlines, human_duration
from bot.core.lifecycle import LifecycleError, Move, State, move
from bot.core.stats import IncidentTimes, summarise
from commands.base import UsageError
from commands.incident_args import Declare, Help, Stats, Targeted, parse

T0 = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
PRIORITIES: dict[str, Severity] = dict(Settings().priorities)
CRITICAL = Settings().escalation["critical"]


@pytest.mark.parametrize(
    ("state", "step", "after", "ack", "mitigated", "resolved"),
    [
        ("triggered", Move.ACK, State.ACKNOWLEDGED, True, False, False),
        ("triggered", Move.MITIGATE, State.MITIGATED, True, True, False),
        ("triggered", Move.RESOLVE, State.RESOLVED, True, True, True),
        ("acknowledged", Move.MITIGATE, State.MITIGATED, True, True, False),
        ("mitigated", Move.RESOLVE, State.RESOLVED, True, True, True),
    ],
)
def test_moves_forward_stamp_every_state_passed(
    state: str, step: Move, after: State, ack: bool, mitigated: bool, resolved: bool
) -> None:
    stamps = move(state, step, incident_id=7)
    assert (stamps.state, stamps.acknowledged, stamps.mitigated, stamps.resolved) == (
        after,
        ack,
        mitigated,
        resolved,
    )


@pytest.mark.parametrize(
    ("state", "step", "message"),
    [
        ("acknowledged", Move.ACK, "already acknowledged"),
        ("mitigated", Move.ACK, "already mitigated"),
        ("mitigated", Move.MITIGATE, "already mitigated"),
        ("resolved", Move.ACK, "/incident reopen"),
        ("resolved", Move.RESOLVE, "/incident reopen"),
        ("triggered", Move.REOPEN, "not resolved"),
    ],
)
def test_moves_that_do_not_apply_say_why(state: str, step: Move, message: str) -> None:
    with pytest.raises(LifecycleError, match=message):
        move(state, step, incident_id=7)


def test_reopen_goes_back_to_triggered_and_clears_the_resolution() -> None:
    stamps = move("resolved", Move.REOPEN, incident_id=7)
    assert stamps.state is State.TRIGGERED and stamps.clears_resolution


def clock(**changes: object) -> IncidentClock:
    base = {
        "created_at": T0,
        "acknowledged_at": None,
        "resolved_at": None,
        "last_update_at": None,
        "has_commander": False,
    }
    return IncidentClock(**{**base, **changes})  # type: ignore[arg-type]


def test_deadlines_follow_the_seed_policy() -> None:
    found = deadlines(clock(), CRITICAL, T0 + timedelta(minutes=1))
    assert [(d.what, d.due_at - T0) for d in found] == [
        ("acknowledgement", timedelta(minutes=2)),
        ("Incident Commander", timedelta(minutes=10)),
        ("DR plan announced", timedelta(minutes=10)),
        ("status update", timedelta(minutes=15)),
        ("team lead informed", timedelta(minutes=30)),
        ("product owner informed", timedelta(minutes=30)),
        ("CTO informed", timedelta(hours=2)),
    ]  # the critical ticket went at once: no longer ahead
    assert not any(d.overdue for d in found)


def test_deadlines_once_people_act_and_time_passes() -> None:
    acted = clock(
        acknowledged_at=T0 + timedelta(minutes=1),
        has_commander=True,
        last_update_at=T0 + timedelta(minutes=20),
    )
    found = deadlines(acted, CRITICAL, T0 + timedelta(minutes=40))
    assert [(d.what, d.overdue) for d in found] == [
        ("status update", True),  # last one at 20 min: due at 35
        ("CTO informed", False),
    ]
    late = deadlines(clock(), CRITICAL, T0 + timedelta(minutes=3))
    assert late[0].what == "acknowledgement" and late[0].overdue
    assert deadlines(clock(resolved_at=T0), CRITICAL, T0) == []


def test_human_duration() -> None:
    assert human_duration(timedelta(seconds=59)) == "0m"
    assert human_duration(timedelta(minutes=65)) == "1h 05m"
    assert human_duration(timedelta(days=2, hours=3, minutes=4)) == "2d 3h"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("help", Help()),
        ("declare P1 WhatsApp down", Declare("critical", "WhatsApp down")),
        ("ack", Targeted("ack")),
        ("ack #42", Targeted("ack", 42)),
        ("ack 42", Targeted("ack", 42)),
        ("ic", Targeted("ic")),
        ("ic <@U0IC|ana>", Targeted("ic", user="U0IC")),
        ("ic <@U0IC> #3", Targeted("ic", 3, user="U0IC")),
        ("role comms <@U0LEAD|lead>", Targeted("role", user="U0LEAD", role="comms")),
        ("severity P2", Targeted("severity", severity="warning")),
        ("update 3 pods restarted", Targeted("update", text="3 pods restarted")),
        ("update #9 failover done", Targeted("update", 9, text="failover done")),
        ("note <!channel> look", Targeted("note", text="<!channel> look")),
        ("resolve", Targeted("resolve")),
        (
            "resolve #4 root cause: expired token",
            Targeted("resolve", 4, text="root cause: expired token"),
        ),
        ("timeline", Targeted("timeline")),
        ("timeline 40 #2", Targeted("timeline", 2, count=40)),
        ("STATUS", Targeted("status")),
        ("stats", Stats()),
        ("stats 7", Stats(7)),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse(text, PRIORITIES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frobnicate", "not a subcommand"),
        ("ack now please", "is not understood here"),
        ("ic ana", "is not a person"),
        ("ic <@U1> <@U2>", "name one person"),
        ("role comms", "role needs a role and a person"),
        ("severity", "severity needs one new severity"),
        ("severity urgent", "unknown severity `urgent`"),
        ("update", "update needs some text"),
        ("note #4", "note needs some text"),
        ("update " + "x" * 3001, "keep it under 3000"),
        ("timeline lots", "neither a count nor an incident number"),
        ("timeline 0", "neither a count"),
        ("stats forever", "is not a number of days"),
        ("stats 400", "is not a number of days"),
        ("timeline 51", "neither a count"),
    ],
)
def test_parse_errors_say_what_to_do(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse(text, PRIORITIES)
    assert "`/incident" in caught.value.message or "keep it under" in caught.value.message


def test_incident_numbers() -> None:
    def times(
        minutes_ack: float | None, minutes_fixed: float | None, **kw: object
    ) -> IncidentTimes:
        def at(minutes: float | None) -> datetime | None:
            return None if minutes is None else T0 + timedelta(minutes=minutes)

        base = {
            "severity": "critical",
            "created_at": T0,
            "acknowledged_at": at(minutes_ack),
            "commander_at": at(minutes_ack),
            "resolved_at": at(minutes_fixed),
            "breaches": 0,
        }
        return IncidentTimes(**{**base, **kw})  # type: ignore[arg-type]

    summary = summarise(
        [times(1, 20), times(3, 50, severity="warning", breaches=2), times(None, None)]
    )
    assert summary.count == 3 and summary.open == 1
    assert summary.by_severity == {"critical": 2, "warning": 1}
    assert summary.mtta == timedelta(minutes=2) and summary.mttr == timedelta(minutes=35)
    assert (summary.within_goal, summary.resolved, summary.breaches) == (1, 2, 2)
    empty = summarise([])
    assert empty.count == 0 and empty.mtta is None and empty.mttr is None
