"""The status-page draft's message in the war room: posted once, then edited in place as the
draft moves on (its buttons go once it is settled)."""

from __future__ import annotations

import logging
from typing import Any

from bot.core import drill
from bot.core.slack_text import safe
from bot.db.models import StatusDraft
from bot.infra.templates import Mrkdwn
from bot.runtime.ports import StatusPagePorts
from bot.slack import blocks
from bot.slack.gateway import SlackFailure

log = logging.getLogger(__name__)


def draft_blocks(
    services: StatusPagePorts, draft: StatusDraft, published: bool, drill_published: bool = False
) -> tuple[str, list[Any]]:
    components = ", ".join(f"{k}: {v}" for k, v in draft.components.items())
    quoted = "\n".join(f"> {line}" if line else ">" for line in safe(draft.body, 2500).splitlines())
    text = services.templates.render(
        "statuspage_draft_message.md.j2",
        version=draft.version,
        incident_id=draft.incident_id,
        status=draft.status,
        impact=draft.impact,
        components=components,
        draft_name=draft.name,
        body_quote=Mrkdwn(quoted),
        state=draft.state,
        actor_mention=Mrkdwn(blocks.user_mention(draft.approved_by or "")),
        published=published,
    )
    if drill_published:
        text += f"\n{drill.MARK} *{drill.DRILL}* — {drill.PUBLISHED}."
    found: list[Any] = [blocks.section(text)]
    if draft.state == "draft":
        value, label = str(draft.id), services.templates.label
        found.append(
            blocks.actions(
                "status_draft_actions",
                blocks.button(label("edit_draft"), "sp_edit", value),
                blocks.button(label("approve_draft"), "sp_approve", value, "primary"),
                blocks.button(label("discard_draft"), "sp_discard", value, "danger"),
            )
        )
    elif draft.state == "approved" and not published:
        found.append(blocks.section(f"```{safe(draft.name, 200)}\n\n{safe(draft.body, 2500)}```"))
    return text, found


async def post_draft(services: StatusPagePorts, draft: StatusDraft, channel: str) -> None:
    """Post the draft in the room and remember where, so later versions edit it in place."""
    text, found = draft_blocks(services, draft, False)
    data = await services.slack.call("chat.postMessage", channel=channel, text=text, blocks=found)
    async with services.db.begin() as session:
        stored = await session.get(StatusDraft, draft.id)
        if stored is not None:
            stored.message_channel, stored.message_ts = channel, str(data.get("ts") or "")


async def show(
    services: StatusPagePorts, draft: StatusDraft, published: bool = False, in_drill: bool = False
) -> None:
    if not draft.message_channel or not draft.message_ts:
        return
    text, found = draft_blocks(services, draft, published, in_drill)
    try:
        await services.slack.call(
            "chat.update",
            channel=draft.message_channel,
            ts=draft.message_ts,
            text=text,
            blocks=found,
        )
    except SlackFailure as exc:
        log.warning("draft message not updated", extra={"error": exc.code})
