"""What the operational commands share: argument checks, the access check with its audit
row, and replies built from rendered Block Kit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from bot.access import verdict_for
from bot.command_log import Call, Invoked, log_command
from bot.core.permissions import Verdict
from bot.db.incidents import incident_for_channel
from bot.db.operations import create_operation
from bot.slack import operation_messages as messages
from commands.base import CommandContext, Reply, UsageError

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
    async with services.sessions.begin() as session:
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
