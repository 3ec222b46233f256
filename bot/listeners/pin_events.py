"""A :pushpin: reaction pins a message to the incident's timeline; removing it unpins."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.runtime.services import Services
from bot.war_room.pins import PIN_REACTIONS, pinned, unpinned


def register_pin_events(app: AsyncApp, services: Services) -> None:
    async def added(event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") in PIN_REACTIONS and item.get("type") == "message":
            await pinned(
                services, str(item.get("channel")), str(item.get("ts")), str(event.get("user"))
            )

    async def removed(event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") in PIN_REACTIONS and item.get("type") == "message":
            await unpinned(services, str(item.get("channel")), str(item.get("ts")))

    app.event("reaction_added")(added)
    app.event("reaction_removed")(removed)
