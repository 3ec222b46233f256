"""Severities: Warroom's three, and the runbooks' P1-P4 mapped onto them by config."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config.settings import SEVERITIES, Severity
from bot.errors import WarroomError


class UnknownSeverity(WarroomError, ValueError):
    def __init__(self, given: str, accepted: list[str]) -> None:
        self.given = given
        self.accepted = accepted
        super().__init__(f"unknown severity `{given}` — use one of: {', '.join(accepted)}")


def parse_severity(text: str, priorities: Mapping[str, Severity]) -> Severity:
    """`critical`, `Warning`, `P1`, `p3` -> a Warroom severity."""
    word = text.strip().lower()
    for severity in SEVERITIES:
        if word == severity:
            return severity
    for name, severity in priorities.items():
        if word == name.lower():
            return severity
    raise UnknownSeverity(text, [*SEVERITIES, *priorities])


SEVERITY_EMOJI: Mapping[str, str] = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}
