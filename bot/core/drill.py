"""What a drill may do. A drill incident practises everything that stays inside Warroom
(Slack, the timeline, drafts, roles, permissions) and nothing that reaches the outside
world: no ticket, no status page, no e-mail, no backend call. In its place the timeline
gets a `drill: …` line and the people see a DRILL-marked answer.

Pure: whether an action may reach outside, and the words for what was held back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DRILL = "DRILL"
MARK = ":test_tube:"
OUTCOME = "drill"  # the audit outcome of a command a drill did not send


class Outside(StrEnum):
    """The kinds of action that leave Warroom for the real world."""

    TICKET = "ticket"
    STATUS_PAGE = "status_page"
    EMAIL = "email"
    BACKEND = "backend"


def may_reach(is_drill: bool, where: Outside) -> bool:
    """Only a real incident reaches the outside world; a drill reaches none of it."""
    return not is_drill


@dataclass(frozen=True)
class Withheld:
    """An outside action a drill did not take: `what` happened instead, what it `would` do."""

    where: Outside
    what: str  # "ticket not created"
    would: str  # "POST to the ticket webhook"

    @property
    def timeline(self) -> str:
        return f"drill: {self.what} (would {self.would})"

    @property
    def notice(self) -> str:
        """The room's line (mrkdwn-safe when `what` and `would` are)."""
        return f"{MARK} *{DRILL}* — {self.what}: would {self.would}; nothing was sent."


def ticket() -> Withheld:
    return Withheld(Outside.TICKET, "ticket not created", "POST to the ticket webhook")


def ticket_resolution() -> Withheld:
    return Withheld(Outside.TICKET, "ticket not resolved", "POST to the ticket webhook")


PUBLISHED = "published (drill — not sent to the status page)"


def status_page(version: int, updating: bool) -> Withheld:
    verb = "PATCH the Statuspage incident" if updating else "POST a Statuspage incident"
    return Withheld(Outside.STATUS_PAGE, f"status-page draft v{version} {PUBLISHED}", verb)


def email(to: str) -> Withheld:
    return Withheld(Outside.EMAIL, f"e-mail to {to} not sent", "go out as a real e-mail")


def command(typed: str, would: str) -> Withheld:
    """An operational command typed in a drill's war room: `would` as in "ask the
    campaigns backend to pause cmp-1"."""
    return Withheld(Outside.BACKEND, f"{typed} not sent", would)


def command_answer(typed: str, would: str) -> str:
    """The answer to the person who typed it (mrkdwn-safe when both parts are)."""
    return f"{MARK} *{DRILL}* — `{typed}` would {would}; nothing was sent."


def confirm_line(typed: str, would: str) -> str:
    """The confirmation prompt's line in a drill: confirming practises, it sends nothing."""
    return f"{MARK} *{DRILL}* — confirm `{typed}`: it would {would}; nothing will be sent."
