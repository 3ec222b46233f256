"""Mutating commands: deny by default, confirmation, the two-person rule, idempotent retries,
audit rows — against the demo backends on a loopback port."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.config.platform import CommandPermission
from bot.infra.time_source import ManualClock
from bot.operations.command_log import expire_prompts
from bot.sandbox.workspace import Message
from bot.web.keys import SERVICES
from tests.harness import Harness, eventually, running
from tests.ops_support import allowed, answer, audited, demo_backends, ops_settings
from tests.settling import settled


def with_button(h: Harness, user: str, action_id: str) -> Message | None:
    found = [
        m
        for m in h.channel("general").messages
        if m.ephemeral_to in (None, user) and f'"{action_id}"' in json.dumps(m.blocks)
    ]
    return found[-1] if found else None


async def button(h: Harness, user: str, action_id: str) -> Message:
    return await eventually(lambda: with_button(h, user, action_id), within=15)


async def test_mutating_commands_are_denied_until_configured(database_url: str) -> None:
    async with (
        demo_backends() as backend,
        running(database_url, settings=ops_settings(backend.url)) as h,
    ):
        for text in ("/pause-campaign cmp-1001 storm", "/resume-campaign cmp-1003",
                     "/replay-deadletter rentguy --dry-run"):  # fmt: skip
            await h.slash(text)
        await eventually(
            lambda: (
                len([m for m in h.channel("general").messages if "is not enabled" in m.text]) == 3
                or None
            )
        )
        assert backend.state.requests == []
        assert backend.state.campaigns["cmp-1001"].status == "running"
        audit = await audited(database_url, 3)
        assert {(a.command, a.decision, a.outcome) for a in audit} == {
            ("/pause-campaign", "denied", "denied"),
            ("/resume-campaign", "denied", "denied"),
            ("/replay-deadletter", "denied", "denied"),
        }


async def test_pause_is_confirmed_then_called_once_with_its_status_after(database_url: str) -> None:
    settings = None
    async with demo_backends() as backend:
        settings = ops_settings(backend.url, allowed("U0ONCALL"))
        async with running(database_url, settings=settings) as h:
            await h.slash("/pause-campaign cmp-1001 WhatsApp down, stop the sends")
            prompt = await button(h, "U0ONCALL", "op_confirm")
            assert "POST /campaigns/cmp-1001/stop" in json.dumps(prompt.blocks)
            assert "Ramadan reminders" in json.dumps(prompt.blocks)
            assert backend.state.campaigns["cmp-1001"].status == "running"  # not yet
            other = await h.press(prompt, "op_confirm", user="U0IC")
            assert other.status == 200
            await answer(h, "U0IC", "can confirm this")
            await h.press(prompt, "op_confirm", user="U0ONCALL")
            result = await answer(h, "U0ONCALL", "Paused campaign")
            assert result.ephemeral_to is None  # the channel sees what was done
            assert "paused" in result.text + json.dumps(result.blocks)
            assert backend.state.campaigns["cmp-1001"].status == "paused"
            again = await h.press(prompt, "op_confirm", user="U0ONCALL")
            assert again.status == 200
            await answer(h, "U0ONCALL", "Already done")
            stops = [r for r in backend.state.requests if r == ("POST", "/campaigns/cmp-1001/stop")]
            assert len(stops) == 1
            audit = await audited(database_url, 3)
            decisions = [a.decision for a in audit if a.command == "/pause-campaign"]
            assert decisions == ["confirm_asked", "confirmed", "ran"]
            ran = next(a for a in audit if a.decision == "ran")
            assert ran.backend_request == "campaigns: POST /campaigns/cmp-1001/stop"
            assert ran.status == 200 and ran.outcome == "ok" and ran.actor == "U0ONCALL"


async def test_cancel_and_unknown_campaigns(database_url: str) -> None:
    async with demo_backends() as backend:
        async with running(
            database_url, settings=ops_settings(backend.url, allowed("U0ONCALL"))
        ) as h:
            await h.slash("/resume-campaign cmp-1003")
            prompt = await button(h, "U0ONCALL", "op_cancel")
            await h.press(prompt, "op_cancel", user="U0ONCALL")
            await answer(h, "U0ONCALL", "nothing ran")
            await h.press(prompt, "op_confirm", user="U0ONCALL")
            await answer(h, "U0ONCALL", "was cancelled")
            assert backend.state.campaigns["cmp-1003"].status == "paused"
            await h.slash("/pause-campaign cmp-9999")
            await answer(h, "U0ONCALL", "knows no campaign")
            bad = await h.slash("/pause-campaign ../../admin")
            assert "not a campaign id" in bad.json()["text"]


async def test_two_person_rule(database_url: str) -> None:
    rules = allowed("U0ONCALL", "U0IC", two_person=True)
    async with demo_backends() as backend:
        async with running(database_url, settings=ops_settings(backend.url, rules)) as h:
            await h.slash("/pause-campaign cmp-1002 voucher bug")
            prompt = await button(h, "U0ONCALL", "op_confirm")
            assert "second allowed person must approve" in json.dumps(prompt.blocks)
            await h.press(prompt, "op_confirm", user="U0ONCALL")
            request = await button(h, "U0IC", "op_approve")
            assert request.ephemeral_to is None and "<@U0ONCALL>" in request.text
            await h.press(request, "op_approve", user="U0ONCALL")
            await answer(h, "U0ONCALL", "cannot approve your own")
            await h.press(request, "op_approve", user="U0LEAD")
            await answer(h, "U0LEAD", "may not approve")
            await settled(h)
            assert backend.state.campaigns["cmp-1002"].status == "running"
            await h.press(request, "op_approve", user="U0IC")
            await answer(h, "U0IC", "Paused campaign")
            assert backend.state.campaigns["cmp-1002"].status == "paused"
            audit = await audited(database_url, 6)
            assert [a.decision for a in audit] == [
                "confirm_asked", "approval_asked", "approval_refused", "approval_refused",
                "approved", "ran",
            ]  # fmt: skip


async def test_replay_dry_run_then_a_retry_that_never_replays_twice(database_url: str) -> None:
    async with demo_backends() as backend:
        settings = ops_settings(backend.url, allowed("U0ONCALL"), timeout=0.3, retries=0)
        async with running(database_url, settings=settings) as h:
            queue = backend.state.queues["whatsapp-outbound"]
            await h.slash("/replay-deadletter whatsapp-outbound --limit 5 --dry-run")
            await answer(h, "U0ONCALL", "would be replayed")
            assert queue.dead_letters == 12
            await h.slash("/replay-deadletter whatsapp-outbound --limit 5")
            prompt = await button(h, "U0ONCALL", "op_confirm")
            assert "12 waiting" in json.dumps(prompt.blocks)
            # The backend does the replay but answers too late: the command reports a failure.
            backend.state.set_switch("replay", "slow", slow_seconds=0.6)
            await h.press(prompt, "op_confirm", user="U0ONCALL")
            failed = await answer(h, "U0ONCALL", "Try again")
            assert "did not answer within" in failed.text
            await eventually(lambda: queue.dead_letters == 7 or None)
            backend.state.set_switch("replay", "ok")
            await h.press(failed, "op_confirm", user="U0ONCALL")
            await answer(h, "U0ONCALL", "Replayed 5 dead letters")
            assert queue.dead_letters == 7  # the retry was recognised: replayed once
            assert len(backend.state.replays) == 1


async def test_permissions_by_user_group_and_restricted_read_commands(database_url: str) -> None:
    rules = {
        "replay-deadletter": CommandPermission(usergroups=("S0IC",)),  # Incident Commanders
        "queue-status": CommandPermission(users=("U0LEAD",)),
    }
    async with demo_backends() as backend:
        async with running(database_url, settings=ops_settings(backend.url, rules)) as h:
            await h.slash("/replay-deadletter rentguy --dry-run", user="U0IC")
            await answer(h, "U0IC", "Dry run")
            await h.slash("/replay-deadletter rentguy --dry-run", user="U0ONCALL")
            await answer(h, "U0ONCALL", "You may not run /replay-deadletter")
            await h.slash("/queue-status", user="U0ONCALL")
            await answer(h, "U0ONCALL", "You may not run /queue-status")
            await h.slash("/queue-status", user="U0LEAD")
            await answer(h, "U0LEAD", "rentguy")
            await h.slash("/integration-status", user="U0ONCALL")  # no rule: open
            await answer(h, "U0ONCALL", "whatsapp")
            requests = [r for r in backend.state.requests if "replay" in r[1]]
            assert len(requests) == 1  # only the allowed dry run reached the backend


async def test_an_unanswered_prompt_expires(database_url: str) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 3, 12, tzinfo=UTC))
    async with demo_backends() as backend:
        settings = ops_settings(backend.url, allowed("U0ONCALL"))
        async with running(database_url, settings=settings, clock=clock) as h:
            await h.slash("/pause-campaign cmp-1001")
            prompt = await button(h, "U0ONCALL", "op_confirm")
            clock.advance(timedelta(minutes=10, seconds=1))
            await h.press(prompt, "op_confirm", user="U0ONCALL")
            await answer(h, "U0ONCALL", "expired")
            assert await expire_prompts(h.app[SERVICES]) == 1
            assert backend.state.campaigns["cmp-1001"].status == "running"
