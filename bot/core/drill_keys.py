"""How a drill's alerts stay apart from real ones. Pure.

Every alert of a drill run has its fingerprint and group key prefixed `drill:<run>:`, so a
drill never merges into a real incident (nor a real alert into a drill), and two runs of the
same scenario never merge either. All the groups of one run share one incident key: the
drill's room opens at the run's first firing alert, whatever its severity — a drill is about
the room, and nothing of it goes to the alerts channel.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import datetime

from bot.core.alert_fields import clean_id
from bot.core.alerts import MAX_KEY, NormalizedAlert
from bot.core.routing import Action, GroupView, Routing

PREFIX = "drill:"


@dataclass(frozen=True)
class DrillMark:
    """Alerts ingested for one drill run: its incident key and who to invite to its room."""

    key: str  # `drill:<scenario>:<run>`: the run's incident key and its alerts' prefix
    invitees: tuple[str, ...] = ()


def new_mark(scenario: str, invitees: tuple[str, ...] = (), run: str | None = None) -> DrillMark:
    return DrillMark(f"{PREFIX}{scenario}:{run or secrets.token_hex(4)}", invitees)


def is_drill_key(key: str) -> bool:
    return key.startswith(PREFIX)


def mark_alert(alert: NormalizedAlert, mark: DrillMark, now: datetime) -> NormalizedAlert:
    """The alert as one of this drill run's: namespaced identity, times on the drill's clock
    (a recorded payload's timestamps are from when it was recorded)."""
    firing = alert.status == "firing"
    return dataclasses.replace(
        alert,
        fingerprint=clean_id(f"{mark.key}:{alert.fingerprint}", MAX_KEY),
        group_key=clean_id(f"{mark.key}:{alert.group_key}", MAX_KEY),
        starts_at=now if firing else alert.starts_at and min(alert.starts_at, now),
        ends_at=None if firing else now,
    )


def drill_routing(group: GroupView, mark: DrillMark) -> Routing:
    """A drill group joins the run's open incident, or opens it when it fires."""
    if group.has_incident:
        return Routing(Action.UPDATE_ROOM, "drill: the group has an open incident")
    if group.firing:
        return Routing(Action.OPEN_INCIDENT, "drill alert", False, mark.key)
    return Routing(Action.RECORD, "drill: resolved before anything was opened")
