"""Durations as people write them in config: `30s`, `2m`, `1h30m`, `2h`, `1d`."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import WarroomError

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
}  # fmt: skip


class DurationError(WarroomError, ValueError):
    """A value that is not a duration; `suggestion` is how to write it, when one is clear."""

    def __init__(self, value: object, suggestion: str | None) -> None:
        self.value = value
        self.suggestion = suggestion
        hint = f"write {suggestion}" if suggestion else "write it like 30s, 2m, 1h30m or 2h"
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        super().__init__(f"{shown} is not a duration — {hint}")


def parse_duration(value: object) -> timedelta:
    """Parse `2m`-style text; a bare integer is seconds. Raises DurationError."""
    if isinstance(value, bool):
        raise DurationError(value, None)
    if isinstance(value, int) and value >= 0:
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise DurationError(value, None)
    text = value.strip().lower()
    match = _DURATION.match(text)
    if text and text != "0" and match and any(match.groups()):
        seconds = sum(
            int(group) * _UNITS[unit]
            for group, unit in zip(match.groups(), "dhms", strict=True)
            if group
        )
        return timedelta(seconds=seconds)
    if text == "0":
        return timedelta(0)
    raise DurationError(value, _suggest(text))


def _suggest(text: str) -> str | None:
    parts = re.findall(r"(\d+)\s*([a-z]+)", text)
    if not parts or re.sub(r"[\d\s a-z]", "", text):
        return None
    amounts: dict[str, str] = {}
    for number, word in parts:
        unit = _WORDS.get(word) or (word if word in _UNITS else None)
        if unit is None or unit in amounts:
            return None
        amounts[unit] = number
    return "".join(f"{amounts[u]}{u}" for u in _UNITS if u in amounts)


def format_duration(delta: timedelta) -> str:
    """The shortest config spelling of a duration: 90s -> 1m30s."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
