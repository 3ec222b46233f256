"""How Warroom reaches one of the platform's backends (integrations, queues, campaigns).

Secrets are not config values: `auth_env` names the environment variable holding the
header's value, which is read from the environment only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

MAX_RETRIES = 5


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


@dataclass(frozen=True)
class BackendSettings:
    # Empty: not configured; commands that need this backend say so instead of calling.
    base_url: str = ""
    auth_header: str = "Authorization"
    auth_env: str = ""
    timeout: timedelta = field(default_factory=lambda: _seconds(5))
    retries: int = 2
    # Seed: after 3 failures in a row the backend is not called for 30 s.
    breaker_failures: int = 3
    breaker_open_for: timedelta = field(default_factory=lambda: _seconds(30))
    # A 429 asking to wait longer than this fails at once with its Retry-After.
    max_retry_after: timedelta = field(default_factory=lambda: _seconds(30))

    def __post_init__(self) -> None:
        if self.base_url:
            _check_base_url(self.base_url)
        if self.timeout <= timedelta(0):
            raise ValueError(f"timeout: {self.timeout} — use a duration above 0, like 5s")
        if not 0 <= self.retries <= MAX_RETRIES:
            raise ValueError(f"retries: {self.retries} — use a number from 0 to {MAX_RETRIES}")
        if self.breaker_failures < 1:
            raise ValueError(f"breaker_failures: {self.breaker_failures} — use 1 or more")
        if self.breaker_open_for <= timedelta(0) or self.max_retry_after < timedelta(0):
            raise ValueError("breaker_open_for must be above 0 and max_retry_after not negative")


def _check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f'base_url: "{url}" is not an http(s) URL with a host — write it like '
            "http://queues.internal:8080 or https://api.example.com/api"
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError(f'base_url: "{url}" has a query or fragment — remove it')
    if parts.username or parts.password:
        raise ValueError(
            "base_url: has credentials in it — remove them and name the environment "
            "variable holding them in auth_env"
        )
