"""What the operational commands share: argument checks, the access check with its audit
row, the drill guard (typed in a drill's war room, a command sends nothing to any backend),
and replies built from rendered Block Kit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from bot.core import drill
from bot.core.permissions import Verdict
from bot.core.slack_text import safe
from bot.db.incidents import incident_for_channel
from bot.db.operation_records import create_operation
from bot.operations import messages
from bot.operations.access import verdict_for
from bot.operations.command_log import Call, Invoked, log_command
from bot.slack import blocks
from commands.base import CommandContext, Executed, Reply, UsageError

# Queue, integration and campaign names: they only ever fill their own path slot.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def checked_name(value: str, what: str) -> str:
    if not NAME.match(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise UsageError(
            f"`{shown}` is not a {what} name — letters, digits, `.`, `_` and `-`, at most 64"
        )
    return value


def invoked(ctx: CommandContext) -> Invoked:
    inv = ctx.invocation
    return Invoked(inv.command, inv.text.strip(), inv.user_id, inv.channel_id)


async def access(ctx: CommandContext) -> tuple[Verdict, Reply | None]:
    """The verdict; when it refuses, the audited, private answer to send instead."""
    verdict = await verdict_for(ctx.services, ctx.invocation.command, ctx.invocation.user_id)
    if verdict.allowed:
        return verdict, None
    await log_command(
        ctx.services,
        invoked(ctx),
        decision="denied",
        outcome="denied",
        now=ctx.now,
        timeline_text=f"{ctx.invocation.command} refused: not permitted",
    )
    return verdict, reply(messages.denied(verdict.reason))


async def gate(ctx: CommandContext, would: str) -> tuple[Verdict, Reply | None]:
    """Before any backend call: the access check (a drill practises permissions too), then
    the drill guard. A reply means: answer it and send nothing. `would` (mrkdwn-safe) says
    what the command would do, as in "ask the campaigns backend to pause cmp-1"."""
    verdict, refusal = await access(ctx)
    if refusal is not None:
        return verdict, refusal
    return verdict, await drill_answer(ctx, would)


async def typed_in_drill(ctx: CommandContext) -> str | None:
    """What was typed (mrkdwn-safe) when it was typed in a drill incident's war room."""
    async with ctx.services.db.begin() as session:
        incident = await incident_for_channel(session, ctx.invocation.channel_id)
    if incident is None or drill.may_reach(incident.is_drill, drill.Outside.BACKEND):
        return None
    inv = ctx.invocation
    return safe(f"{inv.command} {inv.text.strip()}".strip().replace("`", "'"), 200)


async def drill_answer(ctx: CommandContext, would: str) -> Reply | None:
    """In a drill incident's war room: the DRILL answer, audited and on the drill's
    timeline (the drill report lists the commands run), instead of any backend call."""
    typed = await typed_in_drill(ctx)
    if typed is None:
        return None
    await log_command(
        ctx.services,
        invoked(ctx),
        decision="allowed",
        outcome=drill.OUTCOME,
        now=ctx.now,
        timeline_text=drill.command(typed, would).timeline[:300],
    )
    return drill_reply(typed, would)


DRILL_ARG = "drill"


async def drill_confirm(
    ctx: CommandContext,
    verdict: Verdict,
    would: str,
    *,
    args: dict[str, Any],
    danger: bool = False,
) -> Reply | None:
    """In a drill incident's war room: the usual confirmation (and two-person rule), marked
    DRILL and reading nothing from the backend; confirmed, it runs `drill_executed`."""
    typed = await typed_in_drill(ctx)
    if typed is None:
        return None
    return await ask_to_confirm(
        ctx,
        verdict,
        args={**args, DRILL_ARG: {"typed": typed, "would": would}},
        summary_lines=[drill.confirm_line(typed, would)],
        danger=danger,
    )


def drill_executed(args: dict[str, Any]) -> Executed | None:
    """A confirmed drill operation: the DRILL answer and its timeline line, nothing sent."""
    held = args.get(DRILL_ARG)
    if not isinstance(held, dict):
        return None
    typed, would = str(held.get("typed", "")), str(held.get("would", ""))
    line = drill.command(typed, would).timeline[:300]
    return Executed(drill_reply(typed, would), True, drill.OUTCOME, line)


def drill_reply(typed: str, would: str) -> Reply:
    text = drill.command_answer(typed, would)
    found = [
        blocks.section(text),
        blocks.context("This channel is a drill's war room: commands here reach no backend."),
    ]
    return Reply(text=text, blocks=found)


async def ran(
    ctx: CommandContext, outcome: str, call: Call | None, timeline: str | None = None
) -> None:
    """The audit row (and war-room timeline line) of a command that was allowed to run."""
    await log_command(
        ctx.services,
        invoked(ctx),
        decision="allowed",
        outcome=outcome,
        now=ctx.now,
        call=call,
        timeline_text=timeline[:300] if timeline else None,
    )


def reply(
    rendered: messages.Rendered, visibility: Literal["ephemeral", "in_channel"] = "ephemeral"
) -> Reply:
    return Reply(text=rendered.text, blocks=rendered.blocks, visibility=visibility)


CONFIRM_TTL = timedelta(minutes=10)


async def ask_to_confirm(
    ctx: CommandContext,
    verdict: Verdict,
    *,
    args: dict[str, Any],
    summary_lines: list[str],
    danger: bool = False,
) -> Reply:
    """Store the operation and answer with what it will do and a Confirm button."""
    services = ctx.services
    async with services.db.begin() as session:
        incident = await incident_for_channel(session, ctx.invocation.channel_id)
        operation = await create_operation(
            session,
            command=ctx.invocation.command,
            args=args,
            summary="\n".join(summary_lines),
            requester=ctx.invocation.user_id,
            channel_id=ctx.invocation.channel_id,
            incident_id=incident.id if incident else None,
            needs_second=verdict.needs_second,
            now=ctx.now,
            ttl=CONFIRM_TTL,
        )
        operation_id, token = operation.id, operation.token
    await log_command(
        services,
        invoked(ctx),
        decision="confirm_asked",
        outcome="waiting",
        now=ctx.now,
        operation_id=operation_id,
    )
    rendered = messages.confirm_prompt(
        summary_lines,
        token,
        needs_second=verdict.needs_second,
        expires_in=CONFIRM_TTL,
        danger=danger,
    )
    return reply(rendered)
