"""Who may run an operational command, and who may approve a two-person one: pure."""

from __future__ import annotations

import pytest

from bot.config.platform import CommandPermission, default_permissions
from bot.core.permissions import MUTATING, approve, decide

NO_GROUPS: frozenset[str] = frozenset()
ONCALL = frozenset({"S0ONCALL"})
RULES = {
    "queue-status": CommandPermission(users=("U_ALICE",)),
    "pause-campaign": CommandPermission(users=("U_ALICE",), usergroups=("S0ONCALL",)),
    "replay-deadletter": CommandPermission(
        users=("U_ALICE", "U_BOB"), usergroups=("S0ONCALL",), two_person=True
    ),
}


def test_nothing_is_configured_by_default() -> None:
    assert default_permissions() == {}


@pytest.mark.parametrize("command", ["integration-status", "queue-status", "/queue-status"])
def test_read_only_commands_are_open_by_default(command: str) -> None:
    verdict = decide(command, "U_ANYONE", NO_GROUPS, default_permissions())
    assert verdict.allowed and not verdict.needs_second


def test_a_rule_restricts_a_read_only_command() -> None:
    assert decide("queue-status", "U_ALICE", NO_GROUPS, RULES).allowed
    verdict = decide("queue-status", "U_MALLORY", ONCALL, RULES)
    assert not verdict.allowed
    assert "permissions.queue-status" in verdict.reason


@pytest.mark.parametrize("command", sorted(MUTATING))
def test_mutating_commands_are_denied_by_default(command: str) -> None:
    verdict = decide(f"/{command}", "U_ALICE", ONCALL, default_permissions())
    assert not verdict.allowed and not verdict.needs_second
    assert verdict.reason == (
        f"/{command} is not enabled: an admin must list who may run it under "
        f"permissions.{command} in warroom.yaml."
    )


def test_a_listed_user_may_run_a_mutating_command() -> None:
    verdict = decide("pause-campaign", "U_ALICE", NO_GROUPS, RULES)
    assert verdict.allowed and not verdict.needs_second


def test_a_member_of_a_listed_group_may_run_it() -> None:
    verdict = decide("pause-campaign", "U_CAROL", frozenset({"S0OTHER", "S0ONCALL"}), RULES)
    assert verdict.allowed and not verdict.needs_second


def test_someone_not_listed_is_told_whom_to_ask() -> None:
    verdict = decide("pause-campaign", "U_MALLORY", frozenset({"S0OTHER"}), RULES)
    assert not verdict.allowed
    assert "permissions.pause-campaign in warroom.yaml" in verdict.reason


def test_a_rule_listing_nobody_turns_the_command_off() -> None:
    verdict = decide("queue-status", "U_ALICE", ONCALL, {"queue-status": CommandPermission()})
    assert not verdict.allowed and "lists nobody" in verdict.reason


def test_two_person_commands_need_a_second() -> None:
    verdict = decide("replay-deadletter", "U_ALICE", NO_GROUPS, RULES)
    assert verdict.allowed and verdict.needs_second
    assert "second person" in verdict.reason


def test_the_requester_cannot_approve_their_own_run() -> None:
    verdict = approve("replay-deadletter", "U_ALICE", "U_ALICE", ONCALL, RULES)
    assert not verdict.allowed and "your own" in verdict.reason


def test_an_approver_outside_the_rule_is_refused() -> None:
    verdict = approve("replay-deadletter", "U_ALICE", "U_MALLORY", frozenset({"S0X"}), RULES)
    assert not verdict.allowed
    assert "permissions.replay-deadletter" in verdict.reason


def test_a_listed_approver_may_approve() -> None:
    verdict = approve("/replay-deadletter", "U_ALICE", "U_BOB", NO_GROUPS, RULES)
    assert verdict.allowed and not verdict.needs_second


def test_an_approver_by_group_may_approve() -> None:
    verdict = approve("replay-deadletter", "U_ALICE", "U_CAROL", ONCALL, RULES)
    assert verdict.allowed and not verdict.needs_second


def test_approval_of_an_unconfigured_mutating_command_is_refused() -> None:
    verdict = approve("resume-campaign", "U_ALICE", "U_BOB", ONCALL, RULES)
    assert not verdict.allowed


def test_two_person_needs_two_people_to_choose_from() -> None:
    with pytest.raises(ValueError, match="at least two people"):
        CommandPermission(users=("U_ALICE",), two_person=True)
    assert CommandPermission(usergroups=("S0ONCALL",), two_person=True).two_person
