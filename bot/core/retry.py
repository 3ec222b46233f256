"""When to try a failed call again, and how long a `Retry-After` says to wait. Pure: the
outbox worker, the Slack gateway and the backends port ask, then act."""

from __future__ import annotations

import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

MAX_BACKOFF_SECONDS = 300.0
# A Retry-After asking for more than a day is taken as a day: no caller waits that long
# (the outbox caps at MAX_BACKOFF_SECONDS, a backend call fails at once), and a huge value
# would overflow a timedelta.
MAX_RETRY_AFTER_SECONDS = 86400.0
# Slack error codes that say "later", not "never".
TRANSIENT_CODES = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",
        "connection_error",
        "circuit_open",  # our own breaker: the backend is not called until it closes
    }
)


@dataclass(frozen=True)
class Failure:
    code: str
    status: int | None = None
    retry_after: float | None = None


def is_transient(failure: Failure) -> bool:
    if failure.status is not None and (failure.status == 429 or failure.status >= 500):
        return True
    return failure.code in TRANSIENT_CODES


def retry_delay(failure: Failure, attempts: int) -> float | None:
    """Seconds to wait before the next try, or None when retrying cannot help.

    429 waits what Retry-After says; 5xx, timeouts and connection errors back off
    exponentially (1 s, 2 s, 4 s, ... capped at 5 minutes) — forever, so a Slack outage
    delays work and never drops it.
    """
    if not is_transient(failure):
        return None
    if failure.retry_after is not None and failure.retry_after >= 0:
        return min(failure.retry_after, MAX_BACKOFF_SECONDS)
    return min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds (`120`) or an HTTP date
    (`Wed, 21 Oct 2015 07:28:00 GMT`); `now` is epoch seconds. A date already past is 0;
    no header, garbage, a negative or non-finite number, or a date without a zone is None;
    a wait above MAX_RETRY_AFTER_SECONDS is clamped to it."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return min(seconds, MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when.timestamp() - now, 0.0), MAX_RETRY_AFTER_SECONDS)
