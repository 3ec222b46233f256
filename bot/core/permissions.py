"""Who may run an operational slash command, and who may approve a two-person one.

Pure: the caller passes the user, their user groups and the configured rules
(`permissions.<command>` in warroom.yaml). Read-only commands are open unless a rule
restricts them; commands that change the platform are off until a rule lists who may
run them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config.platform import CommandPermission

MUTATING = frozenset({"pause-campaign", "resume-campaign", "replay-deadletter"})


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    needs_second: bool
    reason: str  # one sentence for the person: why, and what to do next


def command_name(command: str) -> str:
    """`/pause-campaign` and `pause-campaign` are the same command."""
    return command.strip().lstrip("/")


def is_listed(rule: CommandPermission, user: str, user_groups: frozenset[str]) -> bool:
    return user in rule.users or not user_groups.isdisjoint(rule.usergroups)


def _where(name: str) -> str:
    return f"permissions.{name} in warroom.yaml"


def decide(
    command: str,
    user: str,
    user_groups: frozenset[str],
    rules: Mapping[str, CommandPermission],
) -> Verdict:
    name = command_name(command)
    rule = rules.get(name)
    if rule is None:
        if name in MUTATING:
            return Verdict(
                False,
                False,
                f"/{name} is not enabled: an admin must list who may run it under {_where(name)}.",
            )
        return Verdict(True, False, f"/{name} is open to everyone.")
    if not rule.users and not rule.usergroups:
        return Verdict(
            False, False, f"/{name} is turned off: {_where(name)} lists nobody. Ask an admin."
        )
    if not is_listed(rule, user, user_groups):
        return Verdict(
            False,
            False,
            f"You may not run /{name}: ask someone listed under {_where(name)}, "
            "or an admin to add you.",
        )
    if rule.two_person:
        return Verdict(
            True,
            True,
            f"/{name} needs a second person: someone else listed under {_where(name)} "
            "must approve it.",
        )
    return Verdict(True, False, f"You are listed under {_where(name)}.")


def approve(
    command: str,
    requester: str,
    approver: str,
    approver_groups: frozenset[str],
    rules: Mapping[str, CommandPermission],
) -> Verdict:
    """The approver must be allowed by the same rule and be someone other than the requester."""
    name = command_name(command)
    if approver == requester:
        return Verdict(
            False,
            False,
            f"You cannot approve your own /{name}: another person listed under "
            f"{_where(name)} must approve it.",
        )
    if not decide(name, approver, approver_groups, rules).allowed:
        return Verdict(
            False,
            False,
            f"You may not approve /{name}: only people listed under {_where(name)} can.",
        )
    return Verdict(True, False, f"/{name} approved by a second person.")
