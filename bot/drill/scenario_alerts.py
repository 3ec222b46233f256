"""A scenario's `alert:` step checked as the intake would check it: its source, its payload
(written inline, or recorded in a JSON/YAML file beside the scenario), parsed by the
intake's own parsers. Problems are collected as `where: what — how to fix`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.config.settings import AlertSettings
from bot.core.alerts import (
    AlertPayloadError,
    NormalizedAlert,
    parse_alertmanager,
    parse_generic,
    parse_grafana,
)
from bot.errors import WarroomError

MAX_PAYLOAD_BYTES = 256 * 1024
SOURCES = ("alertmanager", "grafana", "generic")
SOURCE_ALIASES = {"pagerduty": "generic"}  # PagerDuty v2 events go to the generic intake
ALERT_KEYS = ("source", "payload", "payload_file")
Source = Literal["alertmanager", "grafana", "generic"]
CHECKED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # parsers want a `now`; payload checks only


@dataclass(frozen=True)
class Context:
    """Where the scenario came from: its name for messages, the settings its payloads are
    checked against, and the folder `payload_file:` paths start from."""

    where: str
    settings: AlertSettings
    folder: Path | None


class NoAliases(yaml.SafeLoader):
    """Anchors and aliases refused: a small file must not expand into a huge one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (*name) are not allowed in a scenario — "
                "write the value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


def parse_alert(
    source: str, payload: Any, settings: AlertSettings, now: datetime
) -> list[NormalizedAlert]:
    """The intake's parser for `source` (raises `AlertPayloadError`)."""

    if source == "alertmanager":
        return parse_alertmanager(payload, settings)
    if source == "grafana":
        return parse_grafana(payload, settings)
    return parse_generic(payload, settings, now)


def unknown_keys(raw: Mapping[Any, Any], allowed: tuple[str, ...], at: str) -> list[str]:
    found = []
    for key in raw:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"allowed: {', '.join(allowed)}"
        found.append(f"{at}: unknown key `{key}` — {hint}")
    return found


def alert_step(
    raw: Any, at: str, context: Context, problems: list[str]
) -> tuple[Source, dict[str, Any]] | None:
    """The step's source and JSON payload, or None with the problems added."""
    if not isinstance(raw, dict):
        problems.append(f"{at}: must be a mapping with `source` and `payload`")
        return None
    problems.extend(unknown_keys(raw, ALERT_KEYS, at))
    source = _source(raw.get("source"), at, problems)
    if source is None:
        return None
    found = _payload(raw, at, source, context, problems)
    if found is None:
        return None
    payload, shown_at = found
    try:
        alerts = parse_alert(source, payload, context.settings, CHECKED_AT)
    except AlertPayloadError as exc:
        problems.append(
            f"{shown_at}.{exc.field}: {exc.message} — the {source} intake would answer 400"
        )
        return None
    if not alerts:
        problems.append(f"{shown_at}: holds no alert")
        return None
    return source, payload


def _source(value: Any, at: str, problems: list[str]) -> Source | None:
    source = SOURCE_ALIASES.get(value, value) if isinstance(value, str) else value
    if source == "alertmanager":
        return "alertmanager"
    if source == "grafana":
        return "grafana"
    if source == "generic":
        return "generic"
    shown = "missing" if value is None else f"`{value}`"
    known = ", ".join((*SOURCES, *SOURCE_ALIASES))
    problems.append(f"{at}.source: {shown} — use one of {known}")
    return None


def _payload(
    raw: Mapping[str, Any], at: str, source: str, context: Context, problems: list[str]
) -> tuple[Any, str] | None:
    """The payload as JSON, and the place its problems are named by."""
    given = [key for key in ("payload", "payload_file") if key in raw]
    if len(given) != 1:
        problems.append(
            f"{at}: needs exactly one of `payload:` (the JSON body, written as YAML) or "
            f"`payload_file:` (a recorded JSON file, relative to the scenario)"
        )
        return None
    if given == ["payload_file"]:
        return _recorded(raw["payload_file"], f"{at}.payload_file", context, problems)
    if not isinstance(raw.get("payload"), dict):
        problems.append(
            f"{at}.payload: must be a mapping: the JSON body the {source} intake accepts "
            "(see docs/alerts.md)"
        )
        return None
    try:
        return as_json(raw["payload"], f"{at}.payload"), f"{at}.payload"
    except NotJson as exc:
        problems.append(str(exc))
        return None


def _recorded(value: Any, at: str, context: Context, problems: list[str]) -> tuple[Any, str] | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{at}: must be a file path, like fixtures/alertmanager-firing.json")
        return None
    if context.folder is None:
        problems.append(f"{at}: only a scenario read from a file can name a payload file")
        return None
    path = context.folder / value.strip()
    shown = f"{at} ({value.strip()})"
    try:
        if path.stat().st_size > MAX_PAYLOAD_BYTES:
            problems.append(f"{shown}: larger than {MAX_PAYLOAD_BYTES:,} bytes — trim it")
            return None
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{shown}: file not found — paths start at the scenario's folder")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{shown}: cannot read the file ({type(exc).__name__})")
        return None
    try:
        payload = as_json(yaml.load(text, Loader=NoAliases), shown)  # noqa: S506 - JSON is YAML
    except (yaml.YAMLError, ValueError, RecursionError):  # NotJson is a ValueError
        problems.append(f"{shown}: not valid JSON or YAML — record the body the sender posted")
        return None
    if not isinstance(payload, dict):
        problems.append(f"{shown}: must hold a JSON object (the webhook body)")
        return None
    return payload, shown


class NotJson(WarroomError, ValueError):
    pass


def as_json(value: Any, at: str) -> Any:
    """YAML's extra types made JSON: dates become ISO text (as a sender would write them)."""
    if isinstance(value, dict):
        return {str(k): as_json(v, f"{at}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v, f"{at}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, datetime):
        text = value.isoformat()
        return text.replace("+00:00", "Z") if value.tzinfo else text + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise NotJson(f"{at}: a {type(value).__name__} is not JSON — quote the value")
