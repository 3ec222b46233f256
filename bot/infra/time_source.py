"""The clock port: the only place the wall clock is read. Everything else gets `now`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class ScaledClock:
    """Time running `speed` times faster than the wall clock, from the moment it is made.

    `warroom drill --speed 60` gives one to the whole app, so an escalation policy's minutes
    pass in seconds while timeline times stay plausible (they start at the real now)."""

    def __init__(self, speed: float, base: Clock | None = None) -> None:
        if not speed > 0:
            raise ValueError("ScaledClock needs a speed above 0")
        self.speed = float(speed)
        self._base = base or SystemClock()
        self._start = self._base.now()
        self._started = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._started
        return self._start + timedelta(seconds=elapsed * self.speed)


def speed_of(clock: Clock) -> float | None:
    """How many clock seconds pass per real second; None for a clock moved by hand."""
    if isinstance(clock, ManualClock):
        return None
    return float(getattr(clock, "speed", 1.0))
