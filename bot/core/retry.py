"""When to try a failed Slack call again. Pure: the outbox worker asks, then acts."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BACKOFF_SECONDS = 300.0
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
