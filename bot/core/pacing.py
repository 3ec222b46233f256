"""Pacing below Slack's rate tiers: a token bucket per key. Pure; time is passed in (seconds)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PER_MINUTE = 50.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class Pacer:
    """`wait(key, now)` says how long until a call under `key` may go; `take` spends one.

    A bucket holds up to `burst` calls and refills at the method's rate per minute, so a
    quiet method may send a short burst, and a busy one settles at its rate.
    """

    per_minute: Mapping[str, float]
    burst: float = 5.0
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def rate(self, method: str) -> float:
        return max(self.per_minute.get(method, DEFAULT_PER_MINUTE), 0.001) / 60.0

    def _bucket(self, key: str, method: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        elapsed = max(now - bucket.updated, 0.0)
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate(method))
        bucket.updated = now
        return bucket

    def wait(self, key: str, method: str, now: float) -> float:
        bucket = self._bucket(key, method, now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate(method)

    def take(self, key: str, method: str, now: float) -> None:
        self._bucket(key, method, now).tokens -= 1


def pacing_key(method: str, channel: str | None) -> str:
    """chat.postMessage is limited per channel by Slack; everything else per method."""
    return f"{method}:{channel}" if method == "chat.postMessage" and channel else method
