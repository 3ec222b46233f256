"""Queue metrics (`GET /metrics/queues`, observability playbook §3) read and judged.

Pure: `parse_metrics` turns the decoded JSON into `QueueReading`s, `judge` compares one
reading with its thresholds. The backend's shape is
`{"generated_at": …, "queues": [{"name", "backlog", "active_jobs", "retry_age_ms",
"dead_letters"}, …]}`; `queues` may also be an object keyed by queue name, or the queues
may be the top-level object itself. camelCase keys (`retryAgeMs`) are accepted too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.config.durations import format_duration
from bot.config.platform import QueuesSettings, QueueThresholds
from bot.core.alert_fields import AlertPayloadError, index, join, json_type, parse_timestamp
from bot.errors import WarroomError

Level = Literal["ok", "warning", "critical"]
LEVEL_RANK: dict[Level, int] = {"ok": 0, "warning": 1, "critical": 2}
_FIELDS = {
    "backlog": ("backlog",),
    "active_jobs": ("active_jobs", "activeJobs"),
    "retry_age_ms": ("retry_age_ms", "retryAgeMs"),
    "dead_letters": ("dead_letters", "deadLetters"),
}


class MetricsShapeError(WarroomError, ValueError):
    """The metrics answer is not what we can read. `field` is a path like `queues[2].backlog`."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


@dataclass(frozen=True)
class QueueReading:
    name: str
    backlog: int
    active_jobs: int
    retry_age: timedelta
    dead_letters: int


@dataclass(frozen=True)
class QueueMetrics:
    generated_at: datetime | None  # as the backend says; aware UTC
    readings: tuple[QueueReading, ...]

    def reading(self, name: str) -> QueueReading | None:
        return next((r for r in self.readings if r.name == name), None)


@dataclass(frozen=True)
class QueueJudgement:
    name: str
    level: Level
    reasons: tuple[str, ...]  # empty when ok, e.g. ("backlog 1,840 ≥ critical 1,000",)


def parse_metrics(data: object) -> QueueMetrics:
    """Raises MetricsShapeError naming the first field that is wrong."""
    if isinstance(data, list):
        return QueueMetrics(None, _parse_list(data, "queues"))
    if not isinstance(data, Mapping):
        raise MetricsShapeError("", f"expected a JSON object with `queues`, got {json_type(data)}")
    generated_at = _timestamp(data.get("generated_at"), "generated_at")
    if "queues" in data:
        queues = data["queues"]
        if isinstance(queues, list):
            return QueueMetrics(generated_at, _parse_list(queues, "queues"))
        if isinstance(queues, Mapping):
            return QueueMetrics(generated_at, _parse_keyed(queues, "queues"))
        raise MetricsShapeError(
            "queues", f"expected a list of queues or an object by name, got {json_type(queues)}"
        )
    rest = {k: v for k, v in data.items() if k != "generated_at"}
    if rest and all(isinstance(v, Mapping) for v in rest.values()):
        return QueueMetrics(generated_at, _parse_keyed(rest, ""))
    raise MetricsShapeError("queues", "is required (a list of queues)")


def _timestamp(value: object, path: str) -> datetime | None:
    try:
        return parse_timestamp(value, path)
    except AlertPayloadError as exc:
        raise MetricsShapeError(exc.field, exc.message) from None


def _parse_list(items: list[object], path: str) -> tuple[QueueReading, ...]:
    readings = []
    for i, item in enumerate(items):
        where = index(path, i)
        if not isinstance(item, Mapping):
            raise MetricsShapeError(where, f"expected a queue (an object), got {json_type(item)}")
        readings.append(_reading(_name(item.get("name"), join(where, "name")), item, where))
    return _unique(readings, path)


def _parse_keyed(items: Mapping[object, object], path: str) -> tuple[QueueReading, ...]:
    readings = []
    for key, item in items.items():
        name = _name(key, path or "queues")
        where = join(path, name)
        if not isinstance(item, Mapping):
            raise MetricsShapeError(where, f"expected a queue (an object), got {json_type(item)}")
        readings.append(_reading(name, item, where))
    return _unique(readings, path)


def _name(value: object, path: str) -> str:
    if value is None:
        raise MetricsShapeError(path, "is required (the queue's name)")
    if not isinstance(value, str):
        raise MetricsShapeError(path, f"expected a string, got {json_type(value)}")
    if not value.strip():
        raise MetricsShapeError(path, "must not be empty")
    return value.strip()


def _unique(readings: list[QueueReading], path: str) -> tuple[QueueReading, ...]:
    seen: set[str] = set()
    for reading in readings:
        if reading.name in seen:
            raise MetricsShapeError(path or "queues", f'queue "{reading.name}" appears twice')
        seen.add(reading.name)
    return tuple(readings)


def _reading(name: str, item: Mapping[object, object], path: str) -> QueueReading:
    counts = {field: _number(item, keys, path) for field, keys in _FIELDS.items()}
    for field in ("backlog", "active_jobs", "dead_letters"):
        if not float(counts[field]).is_integer():
            where = join(path, _FIELDS[field][0])
            raise MetricsShapeError(where, f"expected a whole number, got {counts[field]}")
    return QueueReading(
        name=name,
        backlog=int(counts["backlog"]),
        active_jobs=int(counts["active_jobs"]),
        retry_age=timedelta(milliseconds=counts["retry_age_ms"]),
        dead_letters=int(counts["dead_letters"]),
    )


def _number(item: Mapping[object, object], keys: tuple[str, ...], path: str) -> float:
    key = next((k for k in keys if k in item), keys[0])
    where, value = join(path, key), item.get(key)
    if value is None:
        raise MetricsShapeError(where, "is required (a number, 0 or more)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricsShapeError(where, f"expected a number, got {json_type(value)}")
    if not math.isfinite(value) or value > 2**53:
        raise MetricsShapeError(where, f"{value} is out of range")
    if value < 0:
        raise MetricsShapeError(where, f"{value} is negative; expected 0 or more")
    return value


def judge(reading: QueueReading, thresholds: QueueThresholds) -> QueueJudgement:
    """Reaching a threshold counts. Dead letters raise a queue to warning at most."""
    findings: list[tuple[Level, str]] = []
    if reading.backlog >= thresholds.critical_backlog:
        findings.append(
            ("critical", f"backlog {reading.backlog:,} ≥ critical {thresholds.critical_backlog:,}")
        )
    elif reading.backlog >= thresholds.warning_backlog:
        findings.append(
            ("warning", f"backlog {reading.backlog:,} ≥ warning {thresholds.warning_backlog:,}")
        )
    age = _shown(reading.retry_age)
    if reading.retry_age >= thresholds.critical_retry_age:
        findings.append(
            ("critical", f"retry age {age} ≥ critical {_shown(thresholds.critical_retry_age)}")
        )
    elif reading.retry_age >= thresholds.warning_retry_age:
        findings.append(
            ("warning", f"retry age {age} ≥ warning {_shown(thresholds.warning_retry_age)}")
        )
    if reading.dead_letters >= thresholds.dead_letter_warning:
        letters = "dead letter" if reading.dead_letters == 1 else "dead letters"
        findings.append(
            ("warning", f"{reading.dead_letters:,} {letters} ≥ {thresholds.dead_letter_warning:,}")
        )
    level = worst(level for level, _ in findings)
    return QueueJudgement(reading.name, level, tuple(reason for _, reason in findings))


def judge_all(metrics: QueueMetrics, settings: QueuesSettings) -> tuple[QueueJudgement, ...]:
    """Every queue against its own thresholds (`per_queue`), else the default ones."""
    return tuple(judge(r, settings.thresholds_for(r.name)) for r in metrics.readings)


def worst(levels: Iterable[Level]) -> Level:
    return max(levels, key=LEVEL_RANK.__getitem__, default="ok")


def _shown(age: timedelta) -> str:
    """Whole seconds as config spells them (7m, 1m35s); under a second in ms."""
    if age < timedelta(seconds=1):
        return f"{int(age / timedelta(milliseconds=1))}ms"
    return format_duration(timedelta(seconds=int(age.total_seconds())))
