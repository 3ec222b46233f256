"""Which links a war room bookmarks: the configured ones, then the alerts' runbooks and
dashboards. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.config.settings import Link

MAX_BOOKMARKS = 10
ALERT_LINK_TITLES = {"runbook": "Runbook", "dashboard": "Dashboard"}


def room_bookmarks(
    configured: Sequence[Link], alert_links: Sequence[Mapping[str, str]]
) -> list[tuple[str, str]]:
    """(title, url) pairs, each url once, at most `MAX_BOOKMARKS`."""
    chosen: dict[str, str] = {}
    for link in configured:
        if link.url and link.url not in chosen:
            chosen[link.url] = link.title or link.url
    counts: dict[str, int] = {}
    for links in alert_links:
        for kind, title in ALERT_LINK_TITLES.items():
            url = links.get(kind)
            if not url or url in chosen:
                continue
            counts[kind] = counts.get(kind, 0) + 1
            chosen[url] = title if counts[kind] == 1 else f"{title} {counts[kind]}"
    return [(title, url) for url, title in list(chosen.items())[:MAX_BOOKMARKS]]
