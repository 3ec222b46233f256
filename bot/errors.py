"""The one base of the errors Warroom raises on purpose.

It lives below every other layer (even `bot.config`, whose ConfigError and DurationError
derive from it), so any module may import it. `except WarroomError` catches what Warroom
means to say to someone; a bug (KeyError, AttributeError…) is never one. Each subclass keeps
the builtin base it always had (UsageError is still a ValueError), so `except ValueError`
sites work as before.
"""

from __future__ import annotations


class WarroomError(Exception):
    """An error Warroom raises on purpose; its subclass and message say what went wrong."""
