"""Buttons on alert messages and war-room intros: ack within 3 s, then do the work and
answer privately."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.alerts.tick import acknowledge_group, open_room_for_group
from bot.core.lifecycle import Move
from bot.incidents.actions import ActionError, Done, assign_role, change_state
from bot.runtime.services import Services
from bot.slack import blocks

log = logging.getLogger(__name__)

Listener = Callable[..., Awaitable[None]]


def register_alert_actions(app: AsyncApp, services: Services) -> None:
    app.action("alert_ack")(_ack_group(services))
    app.action("alert_open_room")(_open_room(services))
    app.action("incident_ack")(_incident_button(services, _ack))
    app.action("incident_ic")(_incident_button(services, _take_command))
    app.action("incident_resolve")(_incident_button(services, _resolve))


def pressed_value(body: dict[str, Any]) -> tuple[str, str]:
    """Who pressed, and the button's value (at most 64 characters)."""
    user = str((body.get("user") or {}).get("id", ""))
    actions = body.get("actions") or [{}]
    return user, str(actions[0].get("value", ""))[:64]


def pressed(body: dict[str, Any]) -> tuple[str, int | None]:
    """Who pressed, and the number the button carries (None if it is not one)."""
    user, value = pressed_value(body)
    return user, int(value) if value.isdigit() else None


def _ack_group(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, group_id = pressed(body)
        group = await acknowledge_group(services, group_id, user) if group_id else None
        if group is None:
            await say_privately(respond, "That alert is no longer known to Warroom.")
        elif group.acknowledged_by != user:
            who = blocks.user_mention(group.acknowledged_by or "")
            await say_privately(respond, f"Already acknowledged by {who}.")

    return listener


def _open_room(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, group_id = pressed(body)
        incident = await open_room_for_group(services, group_id, user) if group_id else None
        if incident is None:
            await say_privately(respond, "That alert is no longer known to Warroom.")
            return
        await say_privately(
            respond,
            f"Incident #{incident.id} is open; its war room appears in a moment and you "
            "are invited.",
        )

    return listener


IncidentAction = Callable[[Services, int, str], Awaitable[Done]]


async def _ack(services: Services, incident_id: int, user: str) -> Done:
    return await change_state(services, incident_id, Move.ACK, user, services.clock.now())


async def _take_command(services: Services, incident_id: int, user: str) -> Done:
    now = services.clock.now()
    return await assign_role(services, incident_id, "commander", user, user, now)


async def _resolve(services: Services, incident_id: int, user: str) -> Done:
    return await change_state(services, incident_id, Move.RESOLVE, user, services.clock.now())


def _incident_button(services: Services, act: IncidentAction) -> Listener:
    """The intro's buttons do what their commands do, and answer the presser privately."""

    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, incident_id = pressed(body)
        if incident_id is None:
            await say_privately(respond, "That button does not name an incident.")
            return
        try:
            done = await act(services, incident_id, user)
        except ActionError as exc:
            await say_privately(respond, f":warning: {exc.message}")
            return
        await say_privately(respond, done.text)

    return listener


async def say_privately(respond: AsyncRespond, text: str) -> None:
    try:
        await respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # the answer is a courtesy; the work is done
        log.warning("button answer not delivered", extra={"error": type(exc).__name__})
