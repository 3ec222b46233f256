"""Who may run or approve an operational command: the pure rules plus the user's Slack
user groups, looked up only when a rule names user groups (cached for a minute)."""

from __future__ import annotations

import logging
import time

from bot.config.platform import CommandPermission
from bot.core.permissions import Verdict, approve, command_name, decide
from bot.runtime.ports import OperationPorts
from bot.slack.gateway import SlackFailure

log = logging.getLogger(__name__)
GROUP_CACHE_SECONDS = 60.0
_members: dict[str, tuple[float, frozenset[str]]] = {}


async def verdict_for(services: OperationPorts, command: str, user: str) -> Verdict:
    rules = services.settings.permissions
    groups = await groups_of(services, user, rules.get(command_name(command)))
    return decide(command, user, groups, rules)


async def approval_for(
    services: OperationPorts, command: str, requester: str, approver: str
) -> Verdict:
    rules = services.settings.permissions
    groups = await groups_of(services, approver, rules.get(command_name(command)))
    return approve(command, requester, approver, groups, rules)


async def groups_of(
    services: OperationPorts, user: str, rule: CommandPermission | None
) -> frozenset[str]:
    """The rule's user groups `user` belongs to. A group Slack cannot list counts as not
    containing the user (deny, never allow, on doubt)."""
    if rule is None or not rule.usergroups:
        return frozenset()
    found = set()
    for group in rule.usergroups:
        if user in await _group_members(services, group):
            found.add(group)
    return frozenset(found)


async def _group_members(services: OperationPorts, group: str) -> frozenset[str]:
    cached = _members.get(group)
    if cached is not None and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
        return cached[1]
    try:
        data = await services.slack.call("usergroups.users.list", usergroup=group)
    except SlackFailure as exc:
        log.warning("user group not listed", extra={"usergroup": group, "error": exc.code})
        return frozenset()
    users = data.get("users")
    members = (
        frozenset(u for u in users if isinstance(u, str))
        if isinstance(users, list)
        else frozenset()
    )
    _members[group] = (time.monotonic(), members)
    return members
