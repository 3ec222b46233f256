"""The bolt app: thin listeners that parse, ack within Slack's 3 s, then run the command."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.slack_text import escape
from bot.infra.logs import bind_context
from bot.listeners.alert_actions import register_alert_actions
from bot.listeners.checklist_ui import register_checklist_ui
from bot.listeners.operation_buttons import register_operation_buttons
from bot.listeners.pin_events import register_pin_events
from bot.listeners.status_draft_ui import register_status_draft_ui
from bot.listeners.update_modal import register_update_modal
from bot.runtime.services import Services
from bot.slack.gateway import SlackFailure
from commands.base import Command, CommandContext, Invocation, Reply, UsageError

log = logging.getLogger(__name__)


def build_bolt_app(
    services: Services,
    client: AsyncWebClient,
    registry: dict[str, Command[Any]],
) -> AsyncApp:
    """The listeners. Signatures are verified before bolt sees a request (bot/web/routes.py
    checks them on the raw bytes); Socket Mode traffic is authenticated by its WebSocket."""
    app = AsyncApp(
        client=client,
        signing_secret="",
        request_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("warroom.bolt"),
    )
    for command in registry.values():
        app.command(command.name)(_command_listener(command, services))
    register_alert_actions(app, services)
    register_update_modal(app, services)
    register_operation_buttons(app, services, registry)
    register_status_draft_ui(app, services)
    register_checklist_ui(app, services)
    register_pin_events(app, services)
    return app


def _command_listener(command: Command[Any], services: Services) -> Callable[..., Awaitable[None]]:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        invocation = Invocation(
            command=command.name,
            text=str(body.get("text", "")),
            user_id=str(body.get("user_id", "")),
            channel_id=str(body.get("channel_id", "")),
            trigger_id=body.get("trigger_id"),
        )
        bind_context(command=command.name, slack_user=invocation.user_id)
        try:
            args = command.parse(invocation.text)
        except UsageError as exc:
            services.metrics.commands.labels(command.name, "usage_error").inc()
            await ack(
                response_type="ephemeral",
                # The message quotes what was typed: escaped, so `<!channel>` stays inert.
                text=f"{escape(exc.message)}\nUsage: `{command.name} {escape(command.usage)}`",
            )
            return
        await ack()
        await _run(command, args, invocation, services, respond)

    return listener


async def _run(
    command: Command[Any],
    args: Any,
    invocation: Invocation,
    services: Services,
    respond: AsyncRespond,
) -> None:
    started = time.monotonic()

    async def progress(text: str) -> None:
        try:
            await respond(text=text, response_type="ephemeral")
        except Exception as exc:  # progress is a courtesy; the work goes on without it
            log.warning("progress not delivered", extra={"error": type(exc).__name__})

    ctx = CommandContext(invocation, services, services.clock.now(), progress)
    try:
        reply = await command.run(args, ctx)
        outcome = "ok"
    except SlackFailure as exc:
        log.warning("command failed at Slack", extra={"error": exc.code, "method": exc.method})
        reply = Reply(
            text=f"`{command.name}` could not finish: Slack answered `{exc.code}` to "
            f"{exc.method}. What was recorded is kept; try again in a minute."
        )
        outcome = "slack_error"
    except Exception:
        log.exception("command crashed")
        reply = Reply(
            text=f"`{command.name}` failed unexpectedly. What was recorded is kept; "
            "the Warroom logs have the details — try again or ask your platform admin."
        )
        outcome = "error"
    services.metrics.commands.labels(command.name, outcome).inc()
    log.info(
        "command handled",
        extra={"outcome": outcome, "duration_ms": int((time.monotonic() - started) * 1000)},
    )
    try:
        await respond(text=reply.text, blocks=reply.blocks or None, response_type=reply.visibility)
    except Exception as exc:  # an expired or used-up response_url must not hide the outcome
        log.warning("reply not delivered", extra={"error": type(exc).__name__, "outcome": outcome})
