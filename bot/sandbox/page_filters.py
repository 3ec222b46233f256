"""The sandbox page's Jinja2 environment and the filters its templates use."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from markupsafe import Markup, escape

from bot.sandbox import mrkdwn
from bot.sandbox.workspace import Workspace


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def environment(ws: Workspace, timezone: str = "UTC") -> jinja2.Environment:
    """The page's Jinja2 environment: autoescape on, and filters that show Slack text as
    Slack does (``mrkdwn``) or as plain text (``plain``), and times in `timezone`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    zone = _zone(timezone)

    def names(sigil: str, ident: str) -> str | None:
        found = (ws.users if sigil == "@" else ws.channels).get(ident)
        return found.name if found else None

    def text_of(obj: Any) -> str:
        return str(obj.get("text", "")) if isinstance(obj, dict) else str(obj or "")

    def plain(obj: Any) -> str:
        """A text object or string as readable plain text (mentions resolved, never HTML)."""
        return mrkdwn.plain(text_of(obj), names)

    def formatted(obj: Any, inline: bool = False) -> Markup:
        """Message text or a text object as Slack shows it (plain_text objects stay plain)."""
        if isinstance(obj, dict) and obj.get("type") == "plain_text":
            return escape(plain(obj))
        return mrkdwn.render(text_of(obj), names, inline=inline)

    def user_name(user_id: str) -> str:
        user = ws.users.get(user_id)
        return user.real_name if user else user_id

    def ts_time(ts: str) -> str:
        try:
            return datetime.fromtimestamp(float(ts), zone).strftime("%H:%M:%S %Z")
        except (ValueError, OverflowError, OSError):
            return ts

    def link(value: Any) -> str:
        """Only http(s) links become hrefs: a bookmark can never carry ``javascript:``."""
        text = str(value or "")
        return text if text.startswith(("https://", "http://")) else "#"

    env.filters.update(plain=plain, mrkdwn=formatted, user_name=user_name, ts_time=ts_time)
    env.filters.update(link=link, emoji=mrkdwn.emojize)
    return env
