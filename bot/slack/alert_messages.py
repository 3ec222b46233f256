"""The messages Warroom posts about alerts: war-room intro, alerts-channel post, the war
room's alert summary and the resolution suggestion. Pure: no IO, time is a parameter.

Every sentence comes from a template in incident_templates/. Alert text is untrusted: it
reaches a template either as a plain string (the template escapes it) or, when it must be
capped to fit a Slack limit, escaped and cut here with `safe()` and marked `Mrkdwn`. Markup
(mentions, channel links, `<url|title>` links) is built here from escaped parts only.

An alert that names a configured integration (see bot.core.integration_fallback) gets that
integration's runbook fallback as a "Fallback: …" line in the intro and the alerts-channel
post, escaped and cut like alert text; templates that leave `fallbacks` out still render.

The Open war room button is never offered for an `info` group. Smoke tests
(`{"type":"smoke"}`) are always `info` (see bot.core.alerts), so this one rule covers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.config.platform import IntegrationSettings
from bot.core.alert_fields import http_url
from bot.core.integration_fallback import alert_fallbacks
from bot.core.severity import SEVERITY_EMOJI
from bot.core.slack_text import MESSAGE_TEXT_LIMIT, SECTION_TEXT_LIMIT, safe, truncate
from bot.infra.templates import Mrkdwn, Templates
from bot.slack import blocks as kit

INTRO_ALERTS = 5  # alerts listed in the intro and the alerts-channel post
ROOM_ALERTS = 10  # alerts listed in the war room's summary
MAX_LABEL_FIELDS = 8
MAX_LABEL_VALUES = 3  # distinct values shown per label, then "+N more"
MAX_LINKS = 8
KEY_LABELS = ("alertname", "queue", "integration", "service", "instance", "job", "env")
LINK_TITLES = {
    "generator": "Source",
    "runbook": "Runbook",
    "dashboard": "Dashboard",
    "silence": "Silence",
    "panel": "Panel",
    "image": "Image",
}
SUMMARY_CAP = 250
DESCRIPTION_CAP = 200
LABEL_KEY_CAP = 100
LABEL_VALUE_CAP = 300
LINK_TITLE_CAP = 80
FALLBACK_CAP = 300
INTEGRATION_CAP = 100
URL_CAP = 1000  # a longer URL is left out: cutting one would break the link
LINKS_BUDGET = SECTION_TEXT_LIMIT - 200
RESOLVED_EMOJI = ":white_check_mark:"


class AlertLike(Protocol):
    """What a message needs of an alert: NormalizedAlert and the db Alert row both fit."""

    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def links(self) -> Mapping[str, str]: ...
    @property
    def starts_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class IncidentFacts:
    id: int
    title: str
    severity: str
    state: str
    declared_by: str | None
    created_at: datetime
    during_maintenance: bool = False
    is_drill: bool = False


@dataclass(frozen=True)
class GroupFacts:
    id: int
    title: str
    severity: str
    status: str  # "firing" | "resolved"
    first_fired_at: datetime
    acknowledged_by: str | None = None
    incident_channel_id: str | None = None
    during_maintenance: bool = False


@dataclass(frozen=True)
class Message:
    text: str  # the notification fallback (mrkdwn, escaped)
    blocks: list[kit.Block]


# --- the four messages ----------------------------------------------------------------


def war_room_intro(
    templates: Templates,
    incident: IncidentFacts,
    alerts: Sequence[AlertLike],
    tz: ZoneInfo,
    *,
    total: int | None = None,
    integrations: Mapping[str, IntegrationSettings] | None = None,
) -> Message:
    """The pinned intro. `total`: how many alerts the incident has, when `alerts` is a page;
    `integrations`: the configured ones, whose fallbacks the alerts may name."""
    header = {"incident_id": incident.id, "is_drill": incident.is_drill}
    declared_by = kit.user_mention(incident.declared_by) if incident.declared_by else ""
    body = templates.render(
        "war_room_intro.md.j2",
        emoji=SEVERITY_EMOJI.get(incident.severity, ""),
        severity_label=incident.severity.upper(),
        declared_by_mention=Mrkdwn(declared_by),
        declared_at=short_time(incident.created_at, tz),
        is_drill=incident.is_drill,
        during_maintenance=incident.during_maintenance,
        fallbacks=_fallbacks(alerts, integrations),
    )
    buttons = [
        kit.button(templates.label("acknowledge"), "incident_ack", str(incident.id), "primary"),
        kit.button(templates.label("take_command"), "incident_ic", str(incident.id)),
        kit.button(templates.label("post_update"), "incident_update", str(incident.id)),
        kit.button(templates.label("resolve"), "incident_resolve", str(incident.id), "danger"),
    ]
    found = [
        # plain_text is shown as typed, never parsed: the raw title, not an escaped one
        kit.header(
            templates.render(
                "incident_header.txt.j2", title=Mrkdwn(_one_line(incident.title)), **header
            )
        ),
        kit.section(body),
        *_alert_blocks(templates, alerts, tz, total=total, heading=True),
        kit.actions("incident_actions", *buttons),
    ]
    text = templates.render("incident_header.txt.j2", title=_cap(incident.title, 500), **header)
    return _message(text, found)


def alert_post(
    templates: Templates,
    group: GroupFacts,
    alerts: Sequence[AlertLike],
    tz: ZoneInfo,
    *,
    total: int | None = None,
    integrations: Mapping[str, IntegrationSettings] | None = None,
) -> Message:
    """A warning/info group's message in the alerts channel, edited as its state changes."""
    headline = templates.render(
        "alert_post.md.j2",
        emoji=SEVERITY_EMOJI.get(group.severity, ""),
        severity=group.severity,
        title=_cap(group.title, SUMMARY_CAP),
        first_fired_at=short_time(group.first_fired_at, tz),
        fallbacks=_fallbacks(alerts, integrations),
    )
    found = [kit.section(headline), *_alert_blocks(templates, alerts, tz, total=total)]
    status_lines = _status_lines(templates, group)
    if status_lines:
        found.append(kit.context(*status_lines))
    buttons = _group_buttons(templates, group)
    if buttons:
        found.append(kit.actions("alert_actions", *buttons))
    return _message(headline, found)


def room_alert_summary(
    templates: Templates,
    alerts: Sequence[AlertLike],
    now: datetime,
    tz: ZoneInfo,
    *,
    totals: tuple[int, int] | None = None,
) -> Message:
    """The one summary kept up to date in a war room. `totals`: (firing, resolved) of the
    whole incident, when `alerts` is only a page of it."""
    firing = sum(1 for alert in alerts if alert.status == "firing")
    firing, resolved = totals or (firing, len(alerts) - firing)
    heading = templates.render(
        "room_alert_summary.md.j2",
        firing=firing,
        resolved=resolved,
        updated_at=short_time(now, tz),
    )
    listing = _alert_list(
        templates, alerts, tz, limit=ROOM_ALERTS, total=firing + resolved, detailed=False
    )
    found = [kit.section(heading), *([kit.section(listing)] if listing else [])]
    return _message(heading, found)


def resolution_suggestion(templates: Templates, incident_id: int, quiet_for: timedelta) -> Message:
    """Suggest resolving; nothing is resolved until someone presses Resolve (or types it)."""
    minutes = max(1, int(quiet_for.total_seconds() // 60))
    text = templates.render("resolution_suggestion.md.j2", incident_id=incident_id, minutes=minutes)
    button = kit.button(templates.label("resolve"), "incident_resolve", str(incident_id), "danger")
    return _message(text, [kit.section(text), kit.actions("resolution_actions", button)])


# --- shared parts ---------------------------------------------------------------------


def short_time(moment: datetime, tz: ZoneInfo) -> str:
    """`03:12 CET`; a naive datetime is taken as UTC (as the database returns it)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(tz).strftime("%H:%M %Z")


def _message(text: str, found: list[kit.Block]) -> Message:
    return Message(text=truncate(text, MESSAGE_TEXT_LIMIT), blocks=found)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _cap(text: object, limit: int) -> Mrkdwn:
    """Untrusted text on one line, escaped and cut to `limit` (with the marker)."""
    return Mrkdwn(safe(_one_line(text), limit))


def _fallbacks(
    alerts: Sequence[AlertLike], integrations: Mapping[str, IntegrationSettings] | None
) -> list[dict[str, Mrkdwn]]:
    """The runbook fallbacks the alerts name (firing ones first), escaped and cut."""
    if not integrations:
        return []
    pairs = [(a.labels, a.description) for a in _ordered(alerts)]
    return [
        {"integration": _cap(f.integration, INTEGRATION_CAP), "text": _cap(f.text, FALLBACK_CAP)}
        for f in alert_fallbacks(pairs, integrations)
    ]


def _ordered(alerts: Sequence[AlertLike]) -> list[AlertLike]:
    """Firing first, newest first; alerts without a start time last."""

    def key(alert: AlertLike) -> tuple[int, int, float]:
        started = alert.starts_at
        stamp = -started.replace(tzinfo=started.tzinfo or UTC).timestamp() if started else 0.0
        return (alert.status != "firing", started is None, stamp)

    return sorted(alerts, key=key)


def _alert_blocks(
    templates: Templates,
    alerts: Sequence[AlertLike],
    tz: ZoneInfo,
    *,
    total: int | None,
    heading: bool = False,
) -> list[kit.Block]:
    found: list[kit.Block] = []
    listing = _alert_list(templates, alerts, tz, limit=INTRO_ALERTS, total=total, heading=heading)
    if listing:
        found.append(kit.section(listing))
    fields = _label_fields(templates, alerts)
    if fields:
        found.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
    links = _links_text(templates, alerts)
    if links:
        found.append(kit.section(links))
    return found


def _alert_list(
    templates: Templates,
    alerts: Sequence[AlertLike],
    tz: ZoneInfo,
    *,
    limit: int,
    total: int | None,
    heading: bool = False,
    detailed: bool = True,
) -> str:
    if not alerts:
        return ""
    shown = _ordered(alerts)[:limit]
    rows = [_alert_row(alert, tz, detailed) for alert in shown]
    more = max(total or 0, len(alerts)) - len(shown)
    return templates.render("alert_list.md.j2", heading=heading, alerts=rows, more=more)


def _alert_row(alert: AlertLike, tz: ZoneInfo, detailed: bool) -> dict[str, Any]:
    firing = alert.status == "firing"
    return {
        "emoji": SEVERITY_EMOJI.get(alert.severity, "") if firing else RESOLVED_EMOJI,
        "summary": _cap(alert.summary, SUMMARY_CAP),
        "status": _cap(alert.status, 20),
        "started": short_time(alert.starts_at, tz) if alert.starts_at else "",
        "description": _cap(alert.description, DESCRIPTION_CAP) if detailed else "",
    }


def _label_fields(templates: Templates, alerts: Sequence[AlertLike]) -> list[str]:
    """One field per label (key labels first, then by name), distinct values across alerts."""
    values: dict[str, list[str]] = {}
    for alert in _ordered(alerts):
        for key, value in alert.labels.items():
            seen = values.setdefault(str(key), [])
            if str(value) not in seen:
                seen.append(str(value))
    keys = [k for k in KEY_LABELS if k in values]
    keys += sorted(k for k in values if k not in KEY_LABELS and k.strip())
    return [
        templates.render(
            "alert_label_field.md.j2",
            key=_cap(key, LABEL_KEY_CAP),
            values=Mrkdwn(
                ", ".join(_cap(v, LABEL_VALUE_CAP) for v in values[key][:MAX_LABEL_VALUES])
            ),
            more=max(len(values[key]) - MAX_LABEL_VALUES, 0),
        )
        for key in keys[:MAX_LABEL_FIELDS]
    ]


def _links_text(templates: Templates, alerts: Sequence[AlertLike]) -> str:
    """Distinct http(s) links of the alerts, as many as fit (a cut link would break)."""
    links: list[Mrkdwn] = []
    seen_urls: set[str] = set()
    titles: dict[str, int] = {}
    used = 0
    for alert in _ordered(alerts):
        for name, url in alert.links.items():
            checked = http_url(url)
            if checked is None or len(checked) > URL_CAP or checked in seen_urls:
                continue
            title = LINK_TITLES.get(str(name).lower(), str(name)) or "link"
            titles[title] = titles.get(title, 0) + 1
            numbered = title if titles[title] == 1 else f"{title} {titles[title]}"
            link = _link(checked, numbered)
            if len(links) >= MAX_LINKS or used + len(link) > LINKS_BUDGET:
                continue
            seen_urls.add(checked)
            links.append(link)
            used += len(link) + 3
    return templates.render("alert_links.md.j2", links=links) if links else ""


def _link(url: str, title: str) -> Mrkdwn:
    """`<url|Title>` with `&`, `<`, `>` and `|` neutralised in both parts."""
    href = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    label = safe(_one_line(title), LINK_TITLE_CAP).replace("|", "¦")
    return Mrkdwn(f"<{href}|{label}>")


def _status_lines(templates: Templates, group: GroupFacts) -> list[str]:
    ack = kit.user_mention(group.acknowledged_by) if group.acknowledged_by else ""
    room = kit.channel_link(group.incident_channel_id) if group.incident_channel_id else ""
    text = templates.render(
        "alert_post_status.md.j2",
        status=group.status,
        acknowledged_by_mention=Mrkdwn(ack),
        room_link=Mrkdwn(room),
        during_maintenance=group.during_maintenance,
    )
    return [line for line in text.splitlines() if line.strip()]


def _group_buttons(templates: Templates, group: GroupFacts) -> list[kit.Block]:
    """Only while firing: Acknowledge until acknowledged; Open war room unless there is a
    room already or the group is `info` (smoke tests included)."""
    if group.status != "firing":
        return []
    value = str(group.id)
    buttons = []
    if not group.acknowledged_by:
        buttons.append(kit.button(templates.label("acknowledge"), "alert_ack", value, "primary"))
    if not group.incident_channel_id and group.severity != "info":
        buttons.append(kit.button(templates.label("open_war_room"), "alert_open_room", value))
    return buttons
