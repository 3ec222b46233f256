"""A status-page update in Atlassian Statuspage's incident fields, worked out from the
incident. Pure: the incident's facts in, the draft's fields out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config.settings import StatuspageSettings

STATUSES = ("investigating", "identified", "monitoring", "resolved")
APPROVER_ROLES = ("commander", "comms")
NAME_LIMIT = 200
BODY_LIMIT = 5000


@dataclass(frozen=True)
class DraftFields:
    name: str
    status: str
    impact: str
    body: str
    components: dict[str, str]  # component id -> Statuspage component status


def status_for(state: str, has_commander: bool) -> str:
    """The Statuspage status an incident in `state` would normally show."""
    if state == "resolved":
        return "resolved"
    if state == "mitigated":
        return "monitoring"
    if state == "acknowledged" and has_commander:
        return "identified"
    return "investigating"


def components_for(
    labels: Iterable[Mapping[str, str]],
    severity: str,
    status: str,
    settings: StatuspageSettings,
) -> dict[str, str]:
    """Affected components named by the alerts' labels through `statuspage.components`."""
    level = (
        "operational"
        if status == "resolved"
        else settings.component_status.get(severity, "degraded_performance")
    )
    found: dict[str, str] = {}
    for alert_labels in labels:
        for key in settings.component_labels:
            component = settings.components.get(alert_labels.get(key, ""))
            if component:
                found[component] = level
    return dict(sorted(found.items()))


def impact_for(severity: str, settings: StatuspageSettings) -> str:
    return settings.impact.get(severity, "none")


def may_approve(user: str, roles: Mapping[str, str]) -> bool:
    """The Incident Commander or the communications lead (role -> user id)."""
    return any(roles.get(role) == user for role in APPROVER_ROLES)


def clipped(name: str, body: str) -> tuple[str, str]:
    return name.strip()[:NAME_LIMIT], body.strip()[:BODY_LIMIT]
