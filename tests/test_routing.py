"""The routing rules, the maintenance calendar and the time-based checks: pure, time given."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.config.settings import AlertSettings, MaintenanceWindow
from bot.core.maintenance import active_window
from bot.core.routing import (
    QUEUES_INCIDENT_KEY,
    Action,
    GroupView,
    highest_severity,
    promotion_due,
    queue_of,
    resolution_suggestion_due,
    route,
)

NOW = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)  # a Monday
SETTINGS = AlertSettings()


def view(**changes: object) -> GroupView:
    key = str(changes.get("group_key", 'alertmanager:{}:{alertname="X"}'))
    changes.setdefault("queue", queue_of(key, []))
    base = GroupView(
        group_key='alertmanager:{}:{alertname="X"}',
        queue=None,
        severity="warning",
        firing=True,
        refired=True,
        has_incident=False,
        has_post=False,
        last_posted_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_critical_opens_an_incident_keyed_by_its_group() -> None:
    routing = route(view(severity="critical"), SETTINGS, NOW, in_maintenance=False)
    assert routing.action is Action.OPEN_INCIDENT
    assert routing.incident_key == view().group_key and not routing.during_maintenance


def test_critical_during_maintenance_still_opens_and_is_marked() -> None:
    routing = route(view(severity="critical"), SETTINGS, NOW, in_maintenance=True)
    assert routing.action is Action.OPEN_INCIDENT and routing.during_maintenance


def test_a_group_with_an_incident_updates_its_room_whatever_the_severity() -> None:
    for severity in ("critical", "warning", "info"):
        for firing in (True, False):
            group = view(severity=severity, firing=firing, has_incident=True)
            assert route(group, SETTINGS, NOW, in_maintenance=True).action is Action.UPDATE_ROOM


def test_warning_and_info_post_in_the_alerts_channel() -> None:
    for severity in ("warning", "info"):
        routing = route(view(severity=severity), SETTINGS, NOW, in_maintenance=False)
        assert routing.action is Action.POST


def test_maintenance_suppresses_warnings_but_records_them() -> None:
    routing = route(view(), SETTINGS, NOW, in_maintenance=True)
    assert routing.action is Action.RECORD and routing.during_maintenance
    assert "maintenance" in routing.reason


def test_maintenance_holds_back_several_failing_queue_warnings_too() -> None:
    queues = view(group_key="queue:rentguy", other_failing_queues=2)
    routing = route(queues, SETTINGS, NOW, in_maintenance=True)
    assert routing.action is Action.RECORD and routing.during_maintenance
    critical = replace(queues, severity="critical")
    assert route(critical, SETTINGS, NOW, in_maintenance=True).action is Action.OPEN_INCIDENT


def test_a_resolution_still_edits_the_post_during_maintenance() -> None:
    resolved = view(firing=False, refired=False, has_post=True, last_posted_at=NOW)
    routing = route(resolved, SETTINGS, NOW, in_maintenance=True)
    assert routing.action is Action.UPDATE_POST and not routing.during_maintenance


def test_a_group_held_back_earlier_posts_when_it_may() -> None:
    held = view(refired=False, has_post=False, last_posted_at=None)
    assert route(held, SETTINGS, NOW, in_maintenance=False).action is Action.POST


def test_smoke_tests_are_never_suppressed() -> None:
    smoke = view(group_key="smoke", severity="info")
    assert route(smoke, SETTINGS, NOW, in_maintenance=True).action is Action.POST


def test_throttle_allows_one_new_post_per_window() -> None:
    recent = view(has_post=True, last_posted_at=NOW - timedelta(seconds=119))
    assert route(recent, SETTINGS, NOW, in_maintenance=False).action is Action.UPDATE_POST
    old = view(has_post=True, last_posted_at=NOW - timedelta(minutes=2))
    assert route(old, SETTINGS, NOW, in_maintenance=False).action is Action.POST
    no_post = view(has_post=False, last_posted_at=NOW - timedelta(seconds=10))
    assert route(no_post, SETTINGS, NOW, in_maintenance=False).action is Action.RECORD


def test_repeats_of_a_firing_group_edit_the_post_instead_of_posting_again() -> None:
    repeat = view(refired=False, has_post=True, last_posted_at=NOW - timedelta(hours=4))
    assert route(repeat, SETTINGS, NOW, in_maintenance=False).action is Action.UPDATE_POST


def test_resolution_edits_the_post_or_is_only_recorded() -> None:
    posted = view(firing=False, refired=False, has_post=True, last_posted_at=NOW)
    assert route(posted, SETTINGS, NOW, in_maintenance=False).action is Action.UPDATE_POST
    silent = view(firing=False, refired=False)
    assert route(silent, SETTINGS, NOW, in_maintenance=False).action is Action.RECORD


def test_several_failing_queues_make_one_dr_incident() -> None:
    queue = view(group_key="queue:whatsapp-outbound", other_failing_queues=1)
    routing = route(queue, SETTINGS, NOW, in_maintenance=False)
    assert routing.action is Action.OPEN_INCIDENT
    assert routing.incident_key == QUEUES_INCIDENT_KEY
    alone = view(group_key="queue:whatsapp-outbound", severity="critical")
    assert route(alone, SETTINGS, NOW, in_maintenance=False).incident_key == QUEUES_INCIDENT_KEY
    off = replace(SETTINGS, group_queues=False)
    assert route(queue, off, NOW, in_maintenance=False).action is Action.POST
    assert route(alone, off, NOW, in_maintenance=False).incident_key == "queue:whatsapp-outbound"


def test_the_queue_of_a_group() -> None:
    assert queue_of("queue:rentguy", []) == "rentguy"
    am = 'alertmanager:{}:{alertname="Backlog"}'
    assert queue_of(am, [{"queue": "rentguy"}, {"queue": "rentguy", "x": "y"}]) == "rentguy"
    assert queue_of(am, [{"queue": "rentguy"}, {"queue": "mollie"}]) is None
    assert queue_of(am, [{"queue": "rentguy"}, {}]) is None
    assert queue_of(am, [{"alertname": "X"}]) is None
    assert queue_of("queue:", []) is None


def test_highest_severity() -> None:
    assert highest_severity(["info", "critical", "warning"]) == "critical"
    assert highest_severity([]) == "info"


@pytest.mark.parametrize(("minutes", "due"), [(14, False), (15, True), (60, True)])
def test_warnings_are_promoted_after_fifteen_minutes(minutes: int, due: bool) -> None:
    kwargs = {
        "severity": "warning",
        "firing": True,
        "has_incident": False,
        "first_fired_at": NOW - timedelta(minutes=minutes),
        "settings": SETTINGS,
        "now": NOW,
    }
    assert promotion_due(**kwargs) is due  # type: ignore[arg-type]
    assert promotion_due(**{**kwargs, "firing": False}) is False  # type: ignore[arg-type]
    assert promotion_due(**{**kwargs, "has_incident": True}) is False  # type: ignore[arg-type]
    assert promotion_due(**{**kwargs, "severity": "info"}) is False  # type: ignore[arg-type]


def test_resolution_is_suggested_once_per_quiet_spell() -> None:
    last = NOW - timedelta(minutes=10)
    base = {
        "firing_alerts": 0,
        "resolved_alerts": 3,
        "last_alert_at": last,
        "suggested_at": None,
        "settings": SETTINGS,
        "now": NOW,
    }
    assert resolution_suggestion_due(**base) is True  # type: ignore[arg-type]
    assert resolution_suggestion_due(**{**base, "now": NOW - timedelta(seconds=1)}) is False  # type: ignore[arg-type]
    assert resolution_suggestion_due(**{**base, "firing_alerts": 1}) is False  # type: ignore[arg-type]
    assert resolution_suggestion_due(**{**base, "resolved_alerts": 0}) is False  # type: ignore[arg-type]
    assert resolution_suggestion_due(**{**base, "suggested_at": NOW}) is False  # type: ignore[arg-type]
    again = {**base, "suggested_at": last - timedelta(minutes=1)}
    assert resolution_suggestion_due(**again) is True  # type: ignore[arg-type]


SUNDAY = MaintenanceWindow()


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (datetime(2026, 11, 22, 1, 59, tzinfo=UTC), False),
        (datetime(2026, 11, 22, 2, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 22, 3, 59, tzinfo=UTC), True),
        (datetime(2026, 11, 22, 4, 0, tzinfo=UTC), False),
        (datetime(2026, 11, 23, 3, 0, tzinfo=UTC), False),  # Monday
        (datetime(2026, 11, 22, 4, 30, tzinfo=UTC).astimezone(), False),
    ],
)
def test_sunday_maintenance_window(when: datetime, inside: bool) -> None:
    assert (active_window([SUNDAY], when) is not None) is inside


def test_windows_in_another_zone_and_past_midnight() -> None:
    amsterdam = MaintenanceWindow(
        weekday="saturday", start=time(23, 0), end=time(1, 0), timezone="Europe/Amsterdam"
    )
    # Saturday 23:30 and Sunday 00:30 in Amsterdam (UTC+1 in November) are inside.
    assert active_window([amsterdam], datetime(2026, 11, 28, 22, 30, tzinfo=UTC))
    assert active_window([amsterdam], datetime(2026, 11, 28, 23, 30, tzinfo=UTC))
    assert not active_window([amsterdam], datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    assert not active_window([amsterdam], datetime(2026, 11, 28, 21, 59, tzinfo=UTC))
    assert active_window([], NOW) is None
