"""The status-page draft in the war room: its message, and its Edit (a modal), Approve and
Discard buttons. A draft's message is edited in place as it moves on. In a drill the
approved draft is marked published but not sent, and the customer e-mail is marked DRILL."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core import drill
from bot.core.slack_text import safe
from bot.core.status_draft import STATUSES
from bot.db.models import StatusDraft
from bot.listeners.alert_actions import Listener, pressed, say_privately
from bot.runtime.services import Services
from bot.slack import blocks
from bot.slack.gateway import SlackFailure
from bot.status_page.draft_messages import post_draft, show
from bot.status_page.drafts import (
    DraftError,
    edit_draft,
    is_drill,
    new_draft,
    publish,
    publishing,
    settle_draft,
)

log = logging.getLogger(__name__)
EDIT_VIEW = "status_draft_edit"


def register_status_draft_ui(app: AsyncApp, services: Services) -> None:
    app.action("sp_edit")(_edit(services))
    app.action("sp_approve")(_settle(services, approve=True))
    app.action("sp_discard")(_settle(services, approve=False))
    app.action("sp_new")(_offer(services))
    app.view(EDIT_VIEW)(_edited(services))


def _settle(services: Services, *, approve: bool) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, draft_id = pressed(body)
        now = services.clock.now()
        try:
            draft = await settle_draft(services, draft_id or 0, approve, user, now)
        except DraftError as exc:
            await say_privately(respond, f":warning: {exc.message}")
            return
        await _locate(services, draft, body)
        await show(services, draft)
        if approve:
            await _customer_email(services, draft, await is_drill(services, draft.incident_id))
        if not approve or not publishing(services):
            return
        result = await publish(services, draft, now)
        await show(services, draft, published=result.ok and not result.drill, in_drill=result.drill)
        if not result.ok:
            await say_privately(
                respond,
                f":warning: Approved, but publishing failed: {safe(result.detail, 300)} — "
                "the text above is copy-ready; publish it by hand.",
            )

    return listener


async def _locate(services: Services, draft: StatusDraft, body: dict[str, Any]) -> None:
    """Where the draft's message is, from the press itself: a press can come before the
    poster has stored it."""
    if draft.message_channel and draft.message_ts:
        return
    container = body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not isinstance(channel, str) or not isinstance(ts, str):
        return
    draft.message_channel, draft.message_ts = channel, ts
    async with services.db.begin() as session:
        stored = await session.get(StatusDraft, draft.id)
        if stored is not None:
            stored.message_channel, stored.message_ts = channel, ts


async def _customer_email(services: Services, draft: StatusDraft, in_drill: bool) -> None:
    """The approved text as a copy-ready customer e-mail, in the draft's thread (in a
    drill: marked DRILL, for practice only)."""
    if not draft.message_channel or not draft.message_ts:
        return
    email = services.templates.render_plain(
        "customer_email.txt.j2",
        status=draft.status,
        headline=draft.name,
        body=draft.body,
        every="15 minutes",
    )
    text = f"*Customer e-mail* (copy-ready):\n```{safe(email, 2800)}```"
    if in_drill:
        withheld = drill.email("customers")
        text = f"{withheld.notice}\n*Customer e-mail for practice* (do not send):\n"
        text += f"```{safe(email, 2700)}```"
    try:
        await services.slack.call(
            "chat.postMessage",
            channel=draft.message_channel,
            thread_ts=draft.message_ts,
            text=text,
            blocks=[blocks.section(text)],
        )
    except SlackFailure as exc:
        log.warning("customer e-mail not posted", extra={"error": exc.code})


def _offer(services: Services) -> Listener:
    """The clock's update reminder offers a fresh draft."""

    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, incident_id = pressed(body)
        channel = str((body.get("channel") or {}).get("id", ""))
        try:
            draft = await new_draft(services, incident_id or 0, None, user, services.clock.now())
            await post_draft(services, draft, channel)
        except (DraftError, SlackFailure) as exc:
            why = exc.message if isinstance(exc, DraftError) else exc.code
            await say_privately(respond, f":warning: No draft: {why}")

    return listener


def _edit(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        _, draft_id = pressed(body)
        async with services.db.begin() as session:
            draft = await session.get(StatusDraft, draft_id or 0)
        if draft is None or draft.state != "draft":
            await say_privately(respond, "That draft can no longer be edited.")
            return
        await _locate(services, draft, body)
        try:
            await services.slack.call(
                "views.open", trigger_id=body.get("trigger_id"), view=edit_view(draft)
            )
        except SlackFailure as exc:
            await say_privately(respond, f"Could not open the editor (Slack said `{exc.code}`).")

    return listener


def edit_view(draft: StatusDraft) -> dict[str, Any]:
    def text_input(
        block: str, label: str, value: str, multiline: bool, limit: int
    ) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block,
            "label": {"type": "plain_text", "text": label},
            "element": {
                "type": "plain_text_input",
                "action_id": f"{block}_value",
                "initial_value": value,
                "multiline": multiline,
                "max_length": limit,
            },
        }

    options = [{"text": {"type": "plain_text", "text": s}, "value": s} for s in STATUSES]
    status = {
        "type": "input",
        "block_id": "status",
        "label": {"type": "plain_text", "text": "Status"},
        "element": {
            "type": "static_select",
            "action_id": "status_value",
            "options": options,
            "initial_option": next(o for o in options if o["value"] == draft.status),
        },
    }
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": str(draft.id),
        "title": {"type": "plain_text", "text": f"Status draft v{draft.version}"[:24]},
        "submit": {"type": "plain_text", "text": "Save version"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            text_input("name", "Name", draft.name, False, 200),
            status,
            text_input("body", "Message", draft.body, True, 3000),
        ],
    }


def _edited(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        name = _value(values, "name")
        text = _value(values, "body")
        status = ((values.get("status") or {}).get("status_value") or {}).get(
            "selected_option"
        ) or {}
        chosen = status.get("value") if isinstance(status, dict) else None
        user = str((body.get("user") or {}).get("id", ""))
        if chosen not in STATUSES:
            await ack(response_action="errors", errors={"status": "Pick a status."})
            return
        try:
            draft = await edit_draft(
                services, int(str(view.get("private_metadata", "0"))), name, text, str(chosen),
                user, services.clock.now(),
            )  # fmt: skip
        except (DraftError, ValueError) as exc:
            why = exc.message if isinstance(exc, DraftError) else "this form names no draft"
            await ack(response_action="errors", errors={"body": why[:150]})
            return
        await ack()
        await show(services, draft)

    return listener


def _value(values: dict[str, Any], block: str) -> str:
    found = ((values.get(block) or {}).get(f"{block}_value") or {}).get("value")
    return found if isinstance(found, str) else ""
