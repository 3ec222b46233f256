"""Untrusted text made safe for Slack mrkdwn: no mentions, no pings, no links, no overflow."""

from __future__ import annotations

import re

TRUNCATION_MARKER = "… [truncated]"
# Slack limits worth respecting when we build blocks.
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
MESSAGE_TEXT_LIMIT = 40000
TOPIC_LIMIT = 250

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` as Slack asks, and make @channel/@here/@everyone inert.

    After escaping, `<!channel>`, `<@U123>` and `<http://…|x>` are shown literally, never
    parsed; a zero-width space keeps a bare `@here` from being linkified by clients.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + _ZERO_WIDTH_SPACE + m.group(1), escaped)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text ends with a visible marker."""
    if len(text) <= limit:
        return text
    keep = max(limit - len(TRUNCATION_MARKER), 0)
    return text[:keep] + TRUNCATION_MARKER[: limit - keep]


def safe(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Escape, then truncate so the escaped text fits `limit`."""
    return truncate(escape(text), limit)
