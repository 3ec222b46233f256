"""The intro's **Post update** button: a modal with one text box, submitted as
`/incident update <text>` would be (posted in the room, on the timeline, clock restarted)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.incidents.actions import ActionError, post_update
from bot.listeners.alert_actions import Listener, pressed, say_privately
from bot.runtime.services import Services
from bot.slack.gateway import SlackFailure

log = logging.getLogger(__name__)
UPDATE_VIEW = "incident_update_modal"
UPDATE_BLOCK, UPDATE_INPUT = "update", "text"
MAX_UPDATE = 3000


def register_update_modal(app: AsyncApp, services: Services) -> None:
    app.action("incident_update")(_open_modal(services))
    app.view(UPDATE_VIEW)(_submitted(services))


def update_view(incident_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": UPDATE_VIEW,
        "private_metadata": str(incident_id),
        "title": {"type": "plain_text", "text": f"Update #{incident_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Post update"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": UPDATE_BLOCK,
                "label": {"type": "plain_text", "text": "What changed, what's next"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": UPDATE_INPUT,
                    "multiline": True,
                    "max_length": MAX_UPDATE,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "Failover to the PORTAL channel done; next update in 15 min",
                    },
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Posted in the war room and on the timeline; "
                        "the 15-minute update clock starts again.",
                    }
                ],
            },
        ],
    }


def _open_modal(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        _, incident_id = pressed(body)
        trigger = body.get("trigger_id")
        if incident_id is None or not trigger:
            await say_privately(respond, "That button does not name an incident.")
            return
        try:
            await services.slack.call(
                "views.open", trigger_id=trigger, view=update_view(incident_id)
            )
        except SlackFailure as exc:
            log.warning("update form not opened", extra={"error": exc.code})
            await say_privately(
                respond,
                f"Could not open the update form (Slack said `{exc.code}`); type "
                "`/incident update <text>` in the war room instead.",
            )

    return listener


def _submitted(services: Services) -> Listener:
    """Post the update before acking (a database write, well inside 3 s) so a refusal is
    shown on the form instead of getting lost."""

    async def listener(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        user = str((body.get("user") or {}).get("id", ""))
        text = _typed(view).strip()
        if not text:
            await ack(response_action="errors", errors={UPDATE_BLOCK: "Write the update first."})
            return
        try:
            incident_id = int(str(view.get("private_metadata", "")))
            await post_update(services, incident_id, text, user, services.clock.now())
        except ValueError:
            await ack(
                response_action="errors", errors={UPDATE_BLOCK: "This form names no incident."}
            )
            return
        except ActionError as exc:
            await ack(response_action="errors", errors={UPDATE_BLOCK: exc.message[:150]})
            return
        await ack()

    return listener


def _typed(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get(UPDATE_BLOCK) or {}
    value = (values.get(UPDATE_INPUT) or {}).get("value")
    return value if isinstance(value, str) else ""
