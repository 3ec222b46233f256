"""Integration health (`/api/integrations/status`, or one health URL each) and probe streaks.

Pure: the caller fetches, passes the decoded JSON and the time it checked. An item is
`{"name", "status": "up"|"degraded"|"down", "latency_ms", "last_error", "last_success"}`
(the incident runbooks' red / amber / green are accepted as well).

The periodic probe raises an internal alert after `fail_after` failed checks in a row.
Only "down" counts as a failed check. "degraded" (slow, rate limited: the integration
still answers) does not count, but it does not end the row either: only "up" does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.core.alert_fields import AlertPayloadError, index, join, json_type, parse_timestamp
from bot.errors import WarroomError

Status = Literal["up", "degraded", "down"]
_STATUS_WORDS: dict[str, Status] = {
    **dict.fromkeys(("up", "ok", "healthy", "green", "operational"), "up"),
    **dict.fromkeys(("degraded", "amber", "yellow", "warning", "slow"), "degraded"),
    **dict.fromkeys(("down", "red", "error", "failed", "unavailable"), "down"),
}


class IntegrationShapeError(WarroomError, ValueError):
    """The health answer is not what we can read. `field` is a path like `integrations[1]`."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True)
class ProbeResult:
    name: str
    status: Status
    latency_ms: float | None
    last_error: str | None
    last_success: datetime | None
    checked_at: datetime


def from_aggregate(data: object, checked_at: datetime) -> dict[str, ProbeResult]:
    """`{"integrations": [item, …]}` (or an object of items by name) -> results by name."""
    if not isinstance(data, Mapping):
        raise IntegrationShapeError(
            "", f"expected a JSON object with `integrations`, got {json_type(data)}"
        )
    items = data.get("integrations")
    if isinstance(items, list):
        pairs = [(_list_item(item, index("integrations", i))) for i, item in enumerate(items)]
    elif isinstance(items, Mapping):
        pairs = [(_name(key, "integrations"), item) for key, item in items.items()]
    elif items is None:
        raise IntegrationShapeError("integrations", "is required (a list of integrations)")
    else:
        raise IntegrationShapeError(
            "integrations", f"expected a list of integrations, got {json_type(items)}"
        )
    results: dict[str, ProbeResult] = {}
    for name, item in pairs:
        if name in results:
            raise IntegrationShapeError("integrations", f'"{name}" appears twice')
        results[name] = _result(item, name, join("integrations", name), checked_at)
    return results


def from_single(data: object, name: str, checked_at: datetime) -> ProbeResult:
    """One integration's own health URL, same item shape; `name` is the configured one."""
    return _result(data, name, "", checked_at)


def unreachable(name: str, error: str, checked_at: datetime) -> ProbeResult:
    """No usable answer at all (timeout, refused, 5xx, unreadable): the check failed."""
    return ProbeResult(name, "down", None, error, None, checked_at)


def _list_item(item: object, path: str) -> tuple[str, object]:
    if not isinstance(item, Mapping):
        raise IntegrationShapeError(
            path, f"expected an integration (an object), got {json_type(item)}"
        )
    return _name(item.get("name"), join(path, "name")), item


def _name(value: object, path: str) -> str:
    if value is None:
        raise IntegrationShapeError(path, "is required (the integration's name)")
    if not isinstance(value, str) or not value.strip():
        raise IntegrationShapeError(path, f"expected a non-empty string, got {json_type(value)}")
    return value.strip()


def _result(item: object, name: str, path: str, checked_at: datetime) -> ProbeResult:
    if not isinstance(item, Mapping):
        raise IntegrationShapeError(path, f"expected an object, got {json_type(item)}")
    return ProbeResult(
        name=name,
        status=_status(item.get("status"), join(path, "status")),
        latency_ms=_latency(item.get("latency_ms"), join(path, "latency_ms")),
        last_error=_error_text(item.get("last_error"), join(path, "last_error")),
        last_success=_timestamp(item.get("last_success"), join(path, "last_success")),
        checked_at=checked_at,
    )


def _status(value: object, path: str) -> Status:
    if value is None:
        raise IntegrationShapeError(path, 'is required: "up", "degraded" or "down"')
    status = _STATUS_WORDS.get(value.strip().lower()) if isinstance(value, str) else None
    if status is None:
        shown = repr(value[:40]) if isinstance(value, str) else json_type(value)
        raise IntegrationShapeError(path, f'expected "up", "degraded" or "down", got {shown}')
    return status


def _latency(value: object, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IntegrationShapeError(path, f"expected a number of ms, got {json_type(value)}")
    if not math.isfinite(value) or value < 0:
        raise IntegrationShapeError(path, f"{value} is not a latency; expected 0 or more ms")
    return float(value)


def _error_text(value: object, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise IntegrationShapeError(path, f"expected a string, got {json_type(value)}")
    return value.strip() or None


def _timestamp(value: object, path: str) -> datetime | None:
    try:
        return parse_timestamp(value, path)
    except AlertPayloadError as exc:
        raise IntegrationShapeError(exc.field, exc.message) from None


# --- the periodic probe's streaks -----------------------------------------------------


@dataclass(frozen=True)
class Transition:
    name: str
    kind: Literal["raise", "resolve"]
    failures: int  # failed checks in the row (for "resolve": the row that just ended)
    last_error: str | None


@dataclass(frozen=True)
class Streaks:
    """Failed checks in a row per integration, and which ones have an alert raised.

    Never changed in place: `observe` returns a new `Streaks`. Store `failures` and
    `raised` to carry them across restarts.
    """

    failures: Mapping[str, int] = field(default_factory=dict)
    raised: frozenset[str] = frozenset()

    def failures_of(self, name: str) -> int:
        return self.failures.get(name, 0)

    def observe(
        self, results: Mapping[str, ProbeResult], fail_after: int
    ) -> tuple[Streaks, list[Transition]]:
        """One probe round. Integrations absent from `results` keep their streak."""
        if fail_after < 1:
            raise ValueError(f"fail_after: {fail_after} — use 1 or more checks")
        failures, raised = dict(self.failures), set(self.raised)
        transitions: list[Transition] = []
        for name, result in results.items():
            count = failures.get(name, 0)
            if result.status == "up":
                failures.pop(name, None)
                if name in raised:
                    raised.discard(name)
                    transitions.append(Transition(name, "resolve", count, result.last_error))
                continue
            if result.status == "degraded":
                continue  # neither a failure nor the end of the row
            count = failures[name] = count + 1
            if count >= fail_after and name not in raised:
                raised.add(name)
                transitions.append(Transition(name, "raise", count, result.last_error))
        return Streaks(failures, frozenset(raised)), transitions


@dataclass
class ProbeMemory:
    """One process's last answers (the 30 s cache) and streaks (the periodic probe)."""

    results: dict[str, ProbeResult] = field(default_factory=dict)
    checked_at: datetime | None = None
    streaks: Streaks = field(default_factory=Streaks)

    def fresh(self, now: datetime, cache_for: timedelta) -> bool:
        return self.checked_at is not None and now - self.checked_at < cache_for
