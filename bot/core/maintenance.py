"""Maintenance windows: is `now` inside one? Pure; the caller passes `now`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.settings import MaintenanceWindow

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def active_window(windows: Sequence[MaintenanceWindow], now: datetime) -> MaintenanceWindow | None:
    """The window `now` falls in, if any. A window whose end is not after its start runs
    past midnight into the next day (Sunday 23:00-01:00 covers Monday 00:30)."""
    for window in windows:
        if _inside(window, now):
            return window
    return None


def _inside(window: MaintenanceWindow, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(window.timezone))
    day = WEEKDAYS.index(window.weekday)
    for days_back in (0, 1):
        date = (local - timedelta(days=days_back)).date()
        if date.weekday() != day:
            continue
        start = datetime.combine(date, window.start, tzinfo=local.tzinfo)
        end = datetime.combine(date, window.end, tzinfo=local.tzinfo)
        if end <= start:
            end += timedelta(days=1)
        if start <= local < end:
            return True
    return False
