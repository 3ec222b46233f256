"""Queue metrics parsed and judged against the playbook's thresholds: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config.platform import QueuesSettings, QueueThresholds
from bot.core.queue_health import (
    MetricsShapeError,
    QueueReading,
    judge,
    judge_all,
    parse_metrics,
    worst,
)

THRESHOLDS = QueueThresholds(
    warning_backlog=500,
    critical_backlog=1000,
    warning_retry_age=timedelta(minutes=1),
    critical_retry_age=timedelta(minutes=5),
    dead_letter_warning=3,
)
# What the demo backends' GET /metrics/queues answers.
DEMO: dict[str, Any] = {
    "generated_at": "2026-11-23T03:12:00+00:00",
    "queues": [
        {
            "name": "rentguy",
            "backlog": 12,
            "active_jobs": 3,
            "retry_age_ms": 1500,
            "dead_letters": 0,
        },
        {"name": "sevensa", "backlog": 4, "active_jobs": 1, "retry_age_ms": 0, "dead_letters": 2},
        {
            "name": "whatsapp-outbound",
            "backlog": 1840,
            "active_jobs": 0,
            "retry_age_ms": 420000,
            "dead_letters": 12,
        },
    ],
}


def reading(
    backlog: int = 0, retry_age: timedelta = timedelta(0), dead_letters: int = 0
) -> QueueReading:
    return QueueReading("rentguy", backlog, 1, retry_age, dead_letters)


def test_the_demo_shape_parses() -> None:
    metrics = parse_metrics(DEMO)
    assert metrics.generated_at == datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
    assert [r.name for r in metrics.readings] == ["rentguy", "sevensa", "whatsapp-outbound"]
    assert metrics.reading("whatsapp-outbound") == QueueReading(
        "whatsapp-outbound", 1840, 0, timedelta(minutes=7), 12
    )
    assert metrics.reading("nope") is None


def test_queues_keyed_by_name_parse_too() -> None:
    keyed = {q["name"]: {k: v for k, v in q.items() if k != "name"} for q in DEMO["queues"]}
    assert parse_metrics({"queues": keyed}).readings == parse_metrics(DEMO).readings
    top_level = parse_metrics(keyed)
    assert top_level.generated_at is None
    assert top_level.readings == parse_metrics(DEMO).readings


def test_camel_case_keys_are_accepted() -> None:
    item = {"name": "q", "backlog": 1, "activeJobs": 2, "retryAgeMs": 3000, "deadLetters": 4}
    [only] = parse_metrics({"queues": [item]}).readings
    assert only == QueueReading("q", 1, 2, timedelta(seconds=3), 4)


def test_the_demo_queues_are_judged() -> None:
    judgements = judge_all(parse_metrics(DEMO), QueuesSettings())
    assert [j.level for j in judgements] == ["ok", "warning", "critical"]
    assert judgements[2].reasons == (
        "backlog 1,840 ≥ critical 1,000",
        "retry age 7m ≥ critical 5m",
        "12 dead letters ≥ 1",
    )
    assert worst(j.level for j in judgements) == "critical"


@pytest.mark.parametrize(
    ("backlog", "level"), [(499, "ok"), (500, "warning"), (999, "warning"), (1000, "critical")]
)
def test_backlog_thresholds_count_when_reached(backlog: int, level: str) -> None:
    assert judge(reading(backlog=backlog), THRESHOLDS).level == level


@pytest.mark.parametrize(
    ("age", "level"),
    [
        (timedelta(seconds=59, milliseconds=999), "ok"),
        (timedelta(minutes=1), "warning"),
        (timedelta(minutes=4, seconds=59), "warning"),
        (timedelta(minutes=5), "critical"),
    ],
)
def test_retry_age_thresholds_count_when_reached(age: timedelta, level: str) -> None:
    assert judge(reading(retry_age=age), THRESHOLDS).level == level


@pytest.mark.parametrize(("letters", "level"), [(2, "ok"), (3, "warning"), (10_000, "warning")])
def test_dead_letters_raise_to_warning_at_most(letters: int, level: str) -> None:
    assert judge(reading(dead_letters=letters), THRESHOLDS).level == level


def test_reasons_name_each_threshold_reached() -> None:
    judgement = judge(reading(500, timedelta(seconds=95), 1), QueueThresholds())
    assert judgement.level == "warning"
    assert judgement.reasons == (
        "backlog 500 ≥ warning 250",
        "retry age 1m35s ≥ warning 1m",
        "1 dead letter ≥ 1",
    )
    assert judge(reading(), THRESHOLDS).reasons == ()


def test_a_queue_of_its_own_uses_its_thresholds() -> None:
    settings = QueuesSettings(
        thresholds=THRESHOLDS,
        per_queue={"rentguy": QueueThresholds(warning_backlog=5000, critical_backlog=9000)},
    )
    metrics = parse_metrics(
        {
            "queues": [
                {"name": n, "backlog": 1200, "active_jobs": 0, "retry_age_ms": 0, "dead_letters": 0}
                for n in ("rentguy", "sevensa")
            ]
        }
    )
    assert [j.level for j in judge_all(metrics, settings)] == ["ok", "critical"]
    assert settings.thresholds_for("sevensa") is THRESHOLDS


def _with(**changes: object) -> dict[str, Any]:
    item = {"name": "rentguy", "backlog": 1, "active_jobs": 1, "retry_age_ms": 0, "dead_letters": 0}
    item.update(changes)
    return {"queues": [{k: v for k, v in item.items() if v is not ...}]}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (_with(backlog=...), "queues[0].backlog", "is required"),
        (_with(name=...), "queues[0].name", "is required"),
        (_with(dead_letters=-1), "queues[0].dead_letters", "negative"),
        (_with(retry_age_ms=-5), "queues[0].retry_age_ms", "negative"),
        (_with(backlog="12"), "queues[0].backlog", "got string"),
        (_with(active_jobs=True), "queues[0].active_jobs", "got boolean"),
        (_with(backlog=1.5), "queues[0].backlog", "whole number"),
        (_with(name=""), "queues[0].name", "empty"),
        ({"queues": "rentguy"}, "queues", "got string"),
        ({"queues": [42]}, "queues[0]", "got number"),
        ({"queues": {"rentguy": [1]}}, "queues.rentguy", "got array"),
        ({"error": "internal_error"}, "queues", "is required"),
        ({"generated_at": "yesterday", "queues": []}, "generated_at", "RFC 3339"),
        ("not json", "", "got string"),
    ],
)
def test_malformed_metrics_say_which_field(data: object, field: str, words: str) -> None:
    with pytest.raises(MetricsShapeError) as caught:
        parse_metrics(data)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_queue_listed_twice_is_refused() -> None:
    twice = {"queues": DEMO["queues"] + DEMO["queues"][:1]}
    with pytest.raises(MetricsShapeError, match='"rentguy" appears twice'):
        parse_metrics(twice)


def test_no_queues_is_a_valid_answer() -> None:
    assert parse_metrics({"queues": []}).readings == ()
