"""War-room channel names, by Slack's rules: a-z, 0-9, `-`, `_`, at most 80 characters."""

from __future__ import annotations

import re
import unicodedata

MAX_CHANNEL_NAME = 80
_INVALID = re.compile(r"[^a-z0-9_-]+")


def slugify(title: str) -> str:
    """`WhatsApp sends failing!` -> `whatsapp-sends-failing` (accents folded, specials dropped)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _INVALID.sub("-", folded.lower())
    return re.sub(r"-{2,}", "-", slug).strip("-_")


def war_room_name(prefix: str, incident_id: int, title: str, *, drill: bool = False) -> str:
    """`inc-42-whatsapp-sends-failing`, cut at a word boundary to fit 80 characters."""
    head = f"{prefix}-{'drill-' if drill else ''}{incident_id}"
    slug = slugify(title)
    if not slug:
        return head
    room = MAX_CHANNEL_NAME - len(head) - 1
    if len(slug) > room:
        cut = slug[:room]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return f"{head}-{slug.strip('-_')}" if slug.strip("-_") else head


def with_suffix(name: str, attempt: int) -> str:
    """The name to try after `name_taken`: `…-2`, `…-3`, still within 80 characters."""
    suffix = f"-{attempt}"
    return name[: MAX_CHANNEL_NAME - len(suffix)].rstrip("-_") + suffix
