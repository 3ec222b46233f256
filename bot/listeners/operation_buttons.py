"""Confirm, Approve and Cancel on an operational command's prompt.

Each press moves the stored operation with a compare-and-set, so a double press, a second
replica or a late click finds it already moved and says by whom. The backend call carries
the operation's Idempotency-Key: pressing Confirm on a failed run retries it safely.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.db.models import PendingOperation
from bot.db.operation_records import WAITING, load_operation, move_operation
from bot.listeners.alert_actions import Listener, pressed_value
from bot.operations import messages
from bot.operations.access import approval_for
from bot.operations.command_log import Invoked, log_command
from bot.runtime.services import Services
from bot.slack import blocks
from commands.base import Command, Confirmable, OperationRun, Reply

log = logging.getLogger(__name__)


def register_operation_buttons(
    app: AsyncApp, services: Services, registry: Mapping[str, Command[Any]]
) -> None:
    runnable = {name: c for name, c in registry.items() if hasattr(c, "execute")}
    app.action("op_confirm")(_confirm(services, runnable))
    app.action("op_approve")(_approve(services, runnable))
    app.action("op_cancel")(_cancel(services))


async def _answer(
    respond: AsyncRespond, reply: Reply, *, replace: bool, public: bool = False
) -> None:
    try:
        await respond(
            text=reply.text,
            blocks=reply.blocks or None,
            response_type="in_channel" if public else "ephemeral",
            replace_original=replace,
        )
    except Exception as exc:  # an expired response_url must not undo what was done
        log.warning("operation answer not delivered", extra={"error": type(exc).__name__})


def _closed(text: str) -> Reply:
    rendered = messages.operation_closed(text)
    return Reply(text=rendered.text, blocks=rendered.blocks)


def _why_not(operation: PendingOperation | None, now: datetime) -> str:
    """Why a press found nothing to move."""
    if operation is None:
        return "This prompt is no longer known to Warroom — run the command again."
    if operation.state in WAITING and operation.expires_at <= now:
        return "This prompt expired — run the command again."
    by = blocks.user_mention(operation.approver or operation.requester)
    return {
        "expired": "This prompt expired — run the command again.",
        "cancelled": "This was cancelled — run the command again if it is still needed.",
        "running": f"Already running (confirmed by {by}).",
        "done": f"Already done (by {by}).",
        "awaiting_approval": "Waiting for a second person to approve.",
        "pending": "The requester has not confirmed this yet.",
        "failed": "The last attempt failed — press Confirm on its message to retry.",
    }.get(operation.state, f"This is {operation.state}.")


def _invoked(operation: PendingOperation, user: str) -> Invoked:
    return Invoked(operation.command, _args_text(operation.args), user, operation.channel_id)


def _args_text(args: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(args.items()))[:500]


def _confirm(services: Services, runnable: Mapping[str, Any]) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, token = pressed_value(body)
        now = services.clock.now()
        async with services.db.begin() as session:
            operation = await load_operation(session, token)
        if operation is None or operation.requester != user:
            text = (
                _why_not(None, now)
                if operation is None
                else (f"Only {blocks.user_mention(operation.requester)} can confirm this.")
            )
            await _answer(respond, _closed(text), replace=False)
            return
        waits = operation.needs_second and operation.state == "pending"
        target = "awaiting_approval" if waits else "running"
        moved = await _move(services, token, target, now, user, respond)
        if moved is None:
            return
        if target == "awaiting_approval":
            await _log(services, moved, user, "approval_asked", "waiting", now)
            await _answer(
                respond,
                _closed("Confirmed — waiting for a second person to approve."),
                replace=True,
            )
            ask = messages.approval_request(user, moved.summary.splitlines(), token)
            await _answer(respond, Reply(ask.text, ask.blocks), replace=False, public=True)
            return
        await _log(services, moved, user, "confirmed", "running", now)
        await _run(services, runnable, moved, user, respond)

    return listener


def _approve(services: Services, runnable: Mapping[str, Any]) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, token = pressed_value(body)
        now = services.clock.now()
        operation = await _reload(services, token)
        if operation is None or operation.state != "awaiting_approval":
            await _answer(respond, _closed(_why_not(operation, now)), replace=False)
            return
        verdict = await approval_for(services, operation.command, operation.requester, user)
        if not verdict.allowed:
            await _log(services, operation, user, "approval_refused", "denied", now)
            await _answer(respond, _closed(f":no_entry: {verdict.reason}"), replace=False)
            return
        moved = await _move(services, token, "running", now, user, respond)
        if moved is None:
            return
        await _log(services, moved, user, "approved", "running", now)
        await _run(services, runnable, moved, user, respond)

    return listener


def _cancel(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, token = pressed_value(body)
        now = services.clock.now()
        operation = await _reload(services, token)
        if operation is not None and user != operation.requester:
            verdict = await approval_for(services, operation.command, operation.requester, user)
            if not verdict.allowed:
                await _answer(
                    respond,
                    _closed("Only the requester or an approver can cancel this."),
                    replace=False,
                )
                return
        moved = await _move(services, token, "cancelled", now, user, respond)
        if moved is None:
            return
        await _log(
            services,
            moved,
            user,
            "cancelled",
            "cancelled",
            now,
            timeline=f"{moved.command} cancelled before it ran",
        )
        await _answer(
            respond,
            _closed(f"Cancelled by {blocks.user_mention(user)}; nothing ran."),
            replace=True,
        )

    return listener


async def _move(
    services: Services, token: str, to_state: str, now: datetime, user: str, respond: AsyncRespond
) -> PendingOperation | None:
    """Move the operation, or tell the presser why it could not be moved."""
    async with services.db.begin() as session:
        moved = await move_operation(session, token, to_state, now, actor=user)
    if moved is None:
        reason = _why_not(await _reload(services, token), now)
        await _answer(respond, _closed(reason), replace=False)
    return moved


async def _log(
    services: Services,
    operation: PendingOperation,
    user: str,
    decision: str,
    outcome: str,
    now: datetime,
    timeline: str | None = None,
) -> None:
    await log_command(
        services,
        _invoked(operation, user),
        decision=decision,
        outcome=outcome,
        now=now,
        operation_id=operation.id,
        timeline_text=timeline,
    )


async def _reload(services: Services, token: str) -> PendingOperation | None:
    async with services.db.begin() as session:
        return await load_operation(session, token)


async def _run(
    services: Services,
    runnable: Mapping[str, Any],
    operation: PendingOperation,
    actor: str,
    respond: AsyncRespond,
) -> None:
    command: Confirmable | None = runnable.get(operation.command)
    now = services.clock.now()
    if command is None:
        async with services.db.begin() as session:
            await move_operation(session, operation.token, "failed", now, error="unknown command")
        await _answer(
            respond,
            _closed(f"`{operation.command}` is not a command this Warroom runs."),
            replace=True,
        )
        return
    await _answer(
        respond, _closed(f":hourglass_flowing_sand: Running `{operation.command}`…"), replace=True
    )
    run = OperationRun(services, now, actor, operation.requester, operation.idempotency_key)
    executed = await command.execute(dict(operation.args), run)
    state = "done" if executed.ok else "failed"
    async with services.db.begin() as session:
        await move_operation(
            session,
            operation.token,
            state,
            services.clock.now(),
            result={"outcome": executed.outcome},
            error=None if executed.ok else executed.outcome,
        )
    await log_command(
        services,
        _invoked(operation, actor),
        decision="ran",
        outcome=executed.outcome,
        now=services.clock.now(),
        call=executed.call,
        operation_id=operation.id,
        timeline_text=executed.timeline,
    )
    if executed.ok:
        await _answer(respond, _closed("Done — the result is posted in the channel."), replace=True)
        await _answer(respond, executed.reply, replace=False, public=True)
        return
    retry = blocks.actions(
        "op_retry_actions", blocks.button("Try again", "op_confirm", operation.token, "primary")
    )
    failed = Reply(executed.reply.text, [*executed.reply.blocks, _retry_note(), retry])
    await _answer(respond, failed, replace=True)


def _retry_note() -> dict[str, Any]:
    return blocks.context(
        "Trying again is safe: the backend receives the same Idempotency-Key and does it once."
    )
