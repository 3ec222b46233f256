"""The one Retry-After parser (bot.core.retry.parse_retry_after): pure, `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.core.retry import MAX_RETRY_AFTER_SECONDS, parse_retry_after

NOW = datetime(2026, 3, 2, 3, 12, tzinfo=UTC)


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        (str(int(MAX_RETRY_AFTER_SECONDS)), MAX_RETRY_AFTER_SECONDS),
    ],
)
def test_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW.timestamp()) == seconds


def test_an_http_date_is_the_seconds_until_it() -> None:
    later = http_date(NOW + timedelta(seconds=90))
    assert parse_retry_after(later, NOW.timestamp()) == pytest.approx(90)
    # Other zones and the obsolete RFC 850 form name the same moment.
    assert parse_retry_after("Mon, 02 Mar 2026 04:13:30 +0100", NOW.timestamp()) == 90
    assert parse_retry_after("Monday, 02-Mar-26 03:13:30 GMT", NOW.timestamp()) == 90


def test_a_date_already_past_means_now() -> None:
    earlier = http_date(NOW - timedelta(minutes=5))
    assert parse_retry_after(earlier, NOW.timestamp()) == 0
    assert parse_retry_after(http_date(NOW), NOW.timestamp() + 5) == 0


@pytest.mark.parametrize("value", ["-1", "-3", "-0.5"])
def test_a_negative_wait_is_no_answer(value: str) -> None:
    assert parse_retry_after(value, NOW.timestamp()) is None


def test_a_huge_wait_is_clamped() -> None:
    for value in ("1e12", "99999999", http_date(NOW + timedelta(days=400))):
        assert parse_retry_after(value, NOW.timestamp()) == MAX_RETRY_AFTER_SECONDS
    # Clamped, the wait always fits a timedelta (1e308 seconds would overflow one).
    assert timedelta(seconds=parse_retry_after("1e308", 0.0) or 0) == timedelta(days=1)


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "inf",
        "-inf",
        "nan",
        "1,5",
        "12 seconds",
        "Mon, 32 Mar 2026 03:12:00 GMT",
        "2026-03-02T03:13:30Z",  # ISO 8601 is not an HTTP date
        "Mon, 02 Mar 2026 03:13:30",  # no zone: which moment is unknown
    ],
)
def test_garbage_is_no_answer(value: str) -> None:
    assert parse_retry_after(value, NOW.timestamp()) is None


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_header_or_an_empty_one_is_no_answer(value: str | None) -> None:
    assert parse_retry_after(value, NOW.timestamp()) is None
