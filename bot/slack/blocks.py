"""Block Kit builders. Text given here is already safe (escaped by templates or code)."""

from __future__ import annotations

import re
from typing import Any

from bot.core.slack_text import (
    BUTTON_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    escape,
    truncate,
)

Block = dict[str, Any]


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, HEADER_TEXT_LIMIT)},
    }


def section(mrkdwn: str, fields: list[str] | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(mrkdwn, SECTION_TEXT_LIMIT)},
    }
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": truncate(f, 2000)} for f in fields[:10]]
    return block


def context(*mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": m} for m in mrkdwn[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_TEXT_LIMIT)},
        "action_id": action_id,
        "value": value,
    }
    if style in ("primary", "danger"):
        element["style"] = style
    return element


def actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")


def channel_link(channel_id: str) -> str:
    """`<#C123>`; anything that is not a Slack id is shown escaped, never as markup."""
    return f"<#{channel_id}>" if _SLACK_ID.match(channel_id) else escape(channel_id)


def user_mention(user_id: str) -> str:
    return f"<@{user_id}>" if _SLACK_ID.match(user_id) else escape(user_id)
