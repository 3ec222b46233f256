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


def with_suffix(name: str, attempt: int) -> str:
    """The name to try after `name_taken`: `…-2`, `…-3`, still within 80 characters."""
    suffix = f"-{attempt}"
    return name[: MAX_CHANNEL_NAME - len(suffix)].rstrip("-_") + suffix


def room_name_from_template(
    template: str,
    *,
    prefix: str,
    incident_id: int,
    title: str,
    severity: str,
    day: str,
    drill: bool = False,
) -> str:
    """Fill `{prefix}`, `{date}`, `{id}`, `{severity}` and `{slug}`, then apply Slack's rules;
    the slug is cut at a word boundary so the whole name fits 80 characters.
    `inc-{date}-{slug}` -> `inc-20261123-whatsapp-sends-failing`."""

    def fill(part: str) -> str:
        filled = (
            part.replace("{prefix}", f"{prefix}-drill" if drill else prefix)
            .replace("{date}", day)
            .replace("{id}", str(incident_id))
            .replace("{severity}", severity)
        )
        return _INVALID.sub("-", filled.lower())

    head, has_slug, tail = template.partition("{slug}")
    head, tail = fill(head), fill(tail)
    slug = slugify(title) if has_slug else ""
    room = MAX_CHANNEL_NAME - len(head) - len(tail)
    if len(slug) > room:
        cut = slug[: max(room, 0)]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    name = re.sub(r"-{2,}", "-", f"{head}{slug.strip('-_')}{tail}").strip("-_")
    name = name[:MAX_CHANNEL_NAME].rstrip("-_")
    return name or f"{prefix}-{incident_id}"
