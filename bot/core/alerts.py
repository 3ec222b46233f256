"""Alert normalisation: what Alertmanager, Grafana and generic senders post -> `NormalizedAlert`.

Pure: no IO, the caller passes `now`. Any malformed input raises `AlertPayloadError`
naming the JSON path at fault; no other exception escapes, whatever the body.

Identity (fingerprint: one alert; group key: one incident):
- Alertmanager: fingerprint `alertmanager:<fingerprint>` (Alertmanager's own; when absent,
  computed with Alertmanager's algorithm, FNV-1a over the sorted labels), group key
  `alertmanager:<groupKey>`.
- Grafana: `grafana:<fingerprint>` and `grafana:<groupKey>`, the same way.
- Queue alert: `queue:<queue>` for both (or fingerprint `generic:<dedup_key>` when given).
- Smoke test: `smoke` for both.
- PagerDuty v2: fingerprint `pagerduty:<dedup_key>`, group key `pagerduty:<payload.group>`
  when a group is given, else `pagerduty:<dedup_key>`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bot.config.settings import AlertSettings, Severity
from bot.core.alert_fields import (
    MAX_ALERTS,
    AlertPayloadError,
    as_list,
    as_object,
    clean_id,
    clean_json,
    clean_text,
    http_links,
    http_url,
    index,
    join,
    labels_fingerprint,
    optional_count,
    optional_str,
    parse_timestamp,
    require_choice,
    require_id,
    require_str,
    silence_url,
    str_map,
)

__all__ = [
    "AlertPayloadError",
    "NormalizedAlert",
    "labels_fingerprint",
    "map_severity",
    "parse_alertmanager",
    "parse_generic",
    "parse_grafana",
]

Source = Literal["alertmanager", "grafana", "generic"]
Status = Literal["firing", "resolved"]
STATUSES: tuple[Status, ...] = ("firing", "resolved")
PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
# Stored in 255- and 128-character columns: a longer fingerprint or group key is cut and keeps
# its identity by a hash (`clean_id`); a longer queue name is refused.
MAX_KEY = 255
MAX_QUEUE = 128
GENERIC_SHAPES = (
    'expected a queue alert (queue, severity, message), a smoke test ({"type":"smoke"}) '
    "or a PagerDuty v2 event (event_action)"
)


@dataclass(frozen=True)
class NormalizedAlert:
    source: Source
    fingerprint: str  # stable per alert; the same alert re-sent has the same fingerprint
    group_key: str  # alerts with the same key belong to one incident
    status: Status
    severity: Severity
    summary: str
    description: str
    labels: dict[str, str]
    links: dict[str, str]  # generator, runbook, dashboard, silence, panel...: http(s) only
    starts_at: datetime | None  # aware UTC
    ends_at: datetime | None  # None for Go's zero time
    kind: Literal["alert", "smoke"] = "alert"
    details: dict[str, Any] = field(default_factory=dict)
    # Only the status is news (a PagerDuty resolve/acknowledge without a payload): the stored
    # alert keeps its group, severity, text and labels (`bot.db.alerts.complete_partial`).
    partial: bool = False


def map_severity(value: str | None, settings: AlertSettings) -> Severity:
    """A sender's severity word via `settings.severity_map`; unknown or missing -> warning."""
    if value is None:
        return "warning"
    word = value.strip().lower()
    for name, severity in settings.severity_map.items():
        if name.lower() == word:
            return severity
    return "warning"


def _short_hash(*parts: str | None) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


# --- Alertmanager and Grafana ---------------------------------------------------------


def parse_alertmanager(body: object, settings: AlertSettings) -> list[NormalizedAlert]:
    """Alertmanager webhook v4 (`version: "4"`)."""
    obj = as_object(body, "$", "a JSON object (Alertmanager webhook v4)")
    require_choice(obj, "version", "", ("4",))
    group_key = clean_id("alertmanager:" + require_id(obj, "groupKey", ""), MAX_KEY)
    require_choice(obj, "status", "", STATUSES)
    external_url = http_url(obj.get("externalURL"))
    return [
        _labelled_alert(raw, path, "alertmanager", group_key, settings, external_url, {})
        for path, raw in _alerts(obj)
    ]


def parse_grafana(body: object, settings: AlertSettings) -> list[NormalizedAlert]:
    """Grafana unified alerting webhook (Grafana 9+, `version: "1"`)."""
    obj = as_object(body, "$", "a JSON object (Grafana alerting webhook)")
    if obj.get("version") is not None:
        require_choice(obj, "version", "", ("1",))
    group_key = clean_id("grafana:" + require_id(obj, "groupKey", ""), MAX_KEY)
    require_choice(obj, "status", "", STATUSES)
    org_id = optional_count(obj, ("orgId",), "")
    extra: dict[str, Any] = {} if org_id is None else {"org_id": org_id}
    return [
        _labelled_alert(raw, path, "grafana", group_key, settings, None, extra)
        for path, raw in _alerts(obj)
    ]


def _alerts(obj: Mapping[str, object]) -> list[tuple[str, object]]:
    if obj.get("alerts") is None:
        raise AlertPayloadError("alerts", "is required (a non-empty array of alerts)")
    alerts = as_list(obj["alerts"], "alerts")
    if not alerts:
        raise AlertPayloadError("alerts", "must not be empty")
    if len(alerts) > MAX_ALERTS:
        raise AlertPayloadError("alerts", f"at most {MAX_ALERTS} alerts, got {len(alerts)}")
    return [(index("alerts", i), raw) for i, raw in enumerate(alerts)]


def _labelled_alert(
    raw: object,
    path: str,
    source: Literal["alertmanager", "grafana"],
    group_key: str,
    settings: AlertSettings,
    external_url: str | None,
    extra: dict[str, Any],
) -> NormalizedAlert:
    alert = as_object(raw, path, "an alert object")
    status: Status = (
        "resolved" if require_choice(alert, "status", path, STATUSES) == "resolved" else "firing"
    )
    labels = str_map(alert, "labels", path, required=True)
    alertname = labels.get("alertname", "")
    if source == "alertmanager" and not alertname.strip():
        raise AlertPayloadError(join(join(path, "labels"), "alertname"), "is required")
    annotations = str_map(alert, "annotations", path, required=False)
    starts_at = parse_timestamp(alert.get("startsAt"), join(path, "startsAt"))
    ends_at = parse_timestamp(alert.get("endsAt"), join(path, "endsAt"))
    generator = optional_str(alert, "generatorURL", path)

    if alert.get("fingerprint") in (None, ""):
        fingerprint = labels_fingerprint(labels)
    else:
        fingerprint = require_id(alert, "fingerprint", path)

    summary_key = next((k for k in ("summary", "message", "description") if annotations.get(k)), "")
    summary = annotations[summary_key] if summary_key else alertname or f"{source} alert"
    description = "" if summary_key == "description" else annotations.get("description", "")

    candidates: dict[str, object] = {
        "generator": generator,
        "runbook": annotations.get("runbook_url") or annotations.get("runbook"),
        "dashboard": annotations.get("dashboard")
        or annotations.get("dashboard_url")
        or annotations.get("grafana_url"),
    }
    details = dict(extra)
    if source == "grafana":
        candidates["dashboard"] = alert.get("dashboardURL") or candidates["dashboard"]
        candidates["panel"] = alert.get("panelURL")
        candidates["silence"] = alert.get("silenceURL")
        candidates["image"] = alert.get("imageURL")
        if alert.get("values") is not None:
            details["values"] = clean_json(alert["values"], join(path, "values"))
        value_string = optional_str(alert, "valueString", path)
        if value_string:
            details["value_string"] = value_string
    elif external_url:
        candidates["silence"] = silence_url(external_url, labels)

    return NormalizedAlert(
        source=source,
        fingerprint=clean_id(f"{source}:{fingerprint}", MAX_KEY),
        group_key=group_key,
        status=status,
        severity=map_severity(labels.get(settings.severity_label), settings),
        summary=summary,
        description=description,
        labels=labels,
        links=http_links(candidates),
        starts_at=starts_at,
        ends_at=ends_at,
        details=details,
    )


# --- generic JSON ---------------------------------------------------------------------


def parse_generic(body: object, settings: AlertSettings, now: datetime) -> list[NormalizedAlert]:
    """A queue alert (observability playbook), its smoke test, or a PagerDuty v2 event."""
    obj = as_object(body, "$", f"a JSON object: {GENERIC_SHAPES.removeprefix('expected ')}")
    now = _utc(now)
    if "event_action" in obj:
        return [_pagerduty(obj, settings, now)]
    if obj.get("type") == "smoke":
        return [_smoke(obj, now)]
    if "queue" in obj:
        return [_queue_alert(obj, settings, now)]
    raise AlertPayloadError("queue", GENERIC_SHAPES)


def _smoke(obj: Mapping[str, object], now: datetime) -> NormalizedAlert:
    message = optional_str(obj, "message", "") or "alert-test"
    return NormalizedAlert(
        source="generic",
        fingerprint="smoke",
        group_key="smoke",
        status="firing",
        severity="info",
        summary=message,
        description="",
        labels={},
        links={},
        starts_at=now,
        ends_at=None,
        kind="smoke",
    )


def _queue_alert(
    obj: Mapping[str, object], settings: AlertSettings, now: datetime
) -> NormalizedAlert:
    queue = require_id(obj, "queue", "")
    if len(queue) > MAX_QUEUE:
        raise AlertPayloadError("queue", f"at most {MAX_QUEUE} characters, got {len(queue)}")
    severity_word = require_str(obj, "severity", "")
    status: Status = "firing"
    if obj.get("status") is not None:
        status = (
            "resolved" if require_choice(obj, "status", "", STATUSES) == "resolved" else "firing"
        )
    key_name = next((k for k in ("dedup_key", "fingerprint") if obj.get(k) is not None), None)
    fingerprint = f"generic:{require_id(obj, key_name, '')}" if key_name else f"queue:{queue}"

    details: dict[str, Any] = {"queue": queue}
    counts = {
        "backlog": ("backlog",),
        "retry_age_ms": ("retry_age_ms", "retryAgeMs", "retry_age"),
        "dead_letters": ("dead_letters", "deadLetters"),
    }
    for name, keys in counts.items():
        count = optional_count(obj, keys, "")
        if count is not None:
            details[name] = count
    kind_word = optional_str(obj, "type", "")
    if kind_word:
        details["type"] = kind_word

    labels = str_map(obj, "labels", "", required=False)
    labels["queue"] = clean_text(queue)
    labels.setdefault(settings.severity_label, severity_word)
    described = [
        f"backlog {details['backlog']} jobs" if "backlog" in details else "",
        f"retry age {details['retry_age_ms']} ms" if "retry_age_ms" in details else "",
        f"{details['dead_letters']} dead letters" if "dead_letters" in details else "",
    ]
    timestamp = obj.get("timestamp", obj.get("startsAt"))
    where = "timestamp" if "timestamp" in obj else "startsAt"
    return NormalizedAlert(
        source="generic",
        fingerprint=clean_id(fingerprint, MAX_KEY),
        group_key=clean_id(f"queue:{queue}", MAX_KEY),
        status=status,
        severity=map_severity(severity_word, settings),
        summary=optional_str(obj, "message", "") or f"Queue {queue} alert",
        description=optional_str(obj, "description", "") or ", ".join(d for d in described if d),
        labels=labels,
        links=http_links(
            {
                "runbook": obj.get("runbook_url") or obj.get("runbook"),
                "dashboard": obj.get("dashboard_url") or obj.get("dashboard"),
            }
        ),
        starts_at=parse_timestamp(timestamp, where) or now,
        ends_at=now if status == "resolved" else None,
        details=details,
    )


def _pagerduty(
    obj: Mapping[str, object], settings: AlertSettings, now: datetime
) -> NormalizedAlert:
    action = require_choice(obj, "event_action", "", PAGERDUTY_ACTIONS)
    optional_str(obj, "routing_key", "")  # type-checked, never kept: it is a credential
    trigger = action == "trigger"
    dedup_key = (
        None if trigger and obj.get("dedup_key") is None else require_id(obj, "dedup_key", "")
    )

    if trigger and obj.get("payload") is None:
        raise AlertPayloadError("payload", "is required for trigger (summary, severity, source)")
    payload_raw = obj.get("payload")
    payload = {} if payload_raw is None else as_object(payload_raw, "payload")
    if trigger:
        summary: str | None = require_str(payload, "summary", "payload")
        severity_word: str | None = require_str(payload, "severity", "payload")
        source: str | None = require_str(payload, "source", "payload")
    else:
        summary = optional_str(payload, "summary", "payload")
        severity_word = optional_str(payload, "severity", "payload")
        source = optional_str(payload, "source", "payload")
    component = optional_str(payload, "component", "payload")
    group = optional_str(payload, "group", "payload")
    event_class = optional_str(payload, "class", "payload")
    if dedup_key is None:  # PagerDuty would invent one; ours is stable across re-sends
        dedup_key = _short_hash(source, component, group, event_class, summary)

    labels = {
        key: value
        for key, value in (
            ("source", source),
            ("component", component),
            ("group", group),
            ("class", event_class),
            ("severity", severity_word),
        )
        if value
    }
    details: dict[str, Any] = {"event_action": action}
    if action == "acknowledge":
        details["acknowledged"] = True
    if payload.get("custom_details") is not None:
        details["custom_details"] = clean_json(payload["custom_details"], "payload.custom_details")
    status: Status = "resolved" if action == "resolve" else "firing"
    return NormalizedAlert(
        source="generic",
        fingerprint=clean_id(f"pagerduty:{dedup_key}", MAX_KEY),
        group_key=clean_id(f"pagerduty:{group or dedup_key}", MAX_KEY),
        status=status,
        severity=map_severity(severity_word, settings),
        summary=summary or dedup_key,
        description="",
        labels=labels,
        links=_pagerdutyhttp_links(obj),
        starts_at=parse_timestamp(payload.get("timestamp"), "payload.timestamp") or now,
        ends_at=now if status == "resolved" else None,
        details=details,
        partial=not trigger and payload_raw is None,
    )


def _pagerdutyhttp_links(obj: Mapping[str, object]) -> dict[str, str]:
    """`links: [{href, text}]`, `images: [{src, href, alt}]` and `client_url`."""
    links: dict[str, str] = {}

    def add(name: str, url: object) -> None:
        name = clean_text(name, 100) or "link"
        unique, n = name, 2
        while unique in links:
            unique, n = f"{name} ({n})", n + 1
        if (checked := http_url(url)) is not None:
            links[unique] = checked

    client_url = obj.get("client_url")
    if client_url is not None:
        add(optional_str(obj, "client", "") or "client", client_url)
    for key, url_key, text_key in (("links", "href", "text"), ("images", "href", "alt")):
        if obj.get(key) is None:
            continue
        for i, raw in enumerate(as_list(obj[key], key)):
            path = index(key, i)
            item = as_object(raw, path)
            text = optional_str(item, text_key, path) or f"{key.rstrip('s')} {i + 1}"
            add(text, item.get(url_key) or item.get("src"))
    return links
