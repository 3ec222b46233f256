"""Where an alert group goes: a war room, the alerts channel, or only the record.

Pure: the caller describes the group as it stands after the new alerts (`GroupView`) and
passes `now`; the answer is a `Routing`. Seed rules (observability playbook):
- critical -> an incident with a war room (the DR bridge), also during maintenance;
- warning -> a post in the alerts channel with Acknowledge / Open war room, promoted to an
  incident when still firing after `warning_promote_after`;
- info and smoke tests -> the alerts channel only;
- one new post per group per throttle window; in between the post is updated in place;
- maintenance windows suppress warnings and info (still recorded; posted when the window
  is over and they still fire), not smoke tests;
- several queues failing within `multi_queue_window` -> one DR incident for them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.config.settings import AlertSettings
from bot.core.alerts import MAX_QUEUE

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
QUEUE_PREFIX = "queue:"
QUEUES_INCIDENT_KEY = "queues"
SMOKE_KEY = "smoke"


class Action(StrEnum):
    OPEN_INCIDENT = "open_incident"  # create (or join) the incident and its war room
    UPDATE_ROOM = "update_room"  # the group already has an incident: refresh its summary
    POST = "post"  # a new message in the alerts channel
    UPDATE_POST = "update_post"  # edit the group's existing message in the alerts channel
    RECORD = "record"  # stored, nothing posted


@dataclass(frozen=True)
class GroupView:
    group_key: str
    queue: str | None  # the queue the group is about, if any (see `queue_of`)
    severity: str  # the highest severity among the group's firing alerts
    firing: bool  # any alert of the group firing after this batch
    refired: bool  # the group was not firing before this batch (new, or fired again)
    has_incident: bool
    has_post: bool
    last_posted_at: datetime | None
    other_failing_queues: int = 0  # other queue groups that started failing in the window


@dataclass(frozen=True)
class Routing:
    action: Action
    reason: str
    during_maintenance: bool = False
    incident_key: str | None = None  # for OPEN_INCIDENT: the key one incident is unique by


def highest_severity(severities: list[str]) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 1), default="info")


def queue_of(group_key: str, labels: Sequence[Mapping[str, str]]) -> str | None:
    """The queue a group is about: a generic queue alert's, or the `queue` label every alert
    of the batch shares (Alertmanager's queue rules)."""
    if group_key.startswith(QUEUE_PREFIX):
        return group_key.removeprefix(QUEUE_PREFIX) or None
    queues = {alert_labels.get("queue", "") for alert_labels in labels}
    queue = queues.pop() if len(queues) == 1 else ""
    return queue if queue and len(queue) <= MAX_QUEUE else None  # too long to be one


def route(
    group: GroupView, settings: AlertSettings, now: datetime, *, in_maintenance: bool
) -> Routing:
    if group.has_incident:
        return Routing(Action.UPDATE_ROOM, "the group has an open incident")
    held_back = group.firing and group.severity != "critical" and group.group_key != SMOKE_KEY
    if in_maintenance and held_back:
        return Routing(Action.RECORD, "suppressed during a maintenance window", True)
    if group.firing and _is_multi_queue(group, settings):
        return Routing(
            Action.OPEN_INCIDENT,
            "several queues are failing at once",
            in_maintenance,
            QUEUES_INCIDENT_KEY,
        )
    if group.firing and group.severity == "critical":
        key = incident_key_for_group(group.group_key, group.queue, settings)
        return Routing(Action.OPEN_INCIDENT, "critical alert", in_maintenance, key)
    return _channel_routing(group, settings, now)


def _is_multi_queue(group: GroupView, settings: AlertSettings) -> bool:
    return (
        settings.group_queues
        and group.queue is not None
        and group.severity in ("warning", "critical")
        and group.other_failing_queues >= 1
    )


def incident_key_for_group(group_key: str, queue: str | None, settings: AlertSettings) -> str:
    """Queue incidents share one key, so a second failing queue joins the first one's room."""
    return QUEUES_INCIDENT_KEY if settings.group_queues and queue else group_key


def _channel_routing(group: GroupView, settings: AlertSettings, now: datetime) -> Routing:
    if not group.firing:
        if group.has_post:
            return Routing(Action.UPDATE_POST, "resolved")
        return Routing(Action.RECORD, "resolved before anything was posted")
    throttled = group.last_posted_at is not None and now - group.last_posted_at < settings.throttle
    # A group never posted (say, held back by a maintenance window) posts when it may.
    if (group.refired or group.last_posted_at is None) and not throttled:
        return Routing(Action.POST, f"{group.severity} alert")
    if group.has_post:
        return Routing(Action.UPDATE_POST, "throttled: the existing post is updated")
    return Routing(Action.RECORD, "throttled")


def promotion_due(
    *,
    severity: str,
    firing: bool,
    has_incident: bool,
    first_fired_at: datetime,
    settings: AlertSettings,
    now: datetime,
) -> bool:
    """A warning still firing `warning_promote_after` after it began becomes an incident."""
    return (
        firing
        and not has_incident
        and severity == "warning"
        and now - first_fired_at >= settings.warning_promote_after
    )


def resolution_suggestion_due(
    *,
    firing_alerts: int,
    resolved_alerts: int,
    last_alert_at: datetime | None,
    suggested_at: datetime | None,
    settings: AlertSettings,
    now: datetime,
) -> bool:
    """Every alert resolved and quiet for `resolve_quiet_period`: tell the room, once per quiet
    spell (a new alert after the suggestion starts a new spell)."""
    if firing_alerts or not resolved_alerts or last_alert_at is None:
        return False
    if now - last_alert_at < settings.resolve_quiet_period:
        return False
    return suggested_at is None or suggested_at < last_alert_at
