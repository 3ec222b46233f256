"""Ticking the post-incident checklist: Slack sends the whole selection; what changed goes
on the timeline and the message shows who ticked what."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.core.timeline import EventKind, TimelineEntry
from bot.db.checklists import set_done
from bot.db.incidents import record
from bot.listeners.alert_actions import Listener, say_privately
from bot.post_incident.checklist import CHECKLIST_ACTION, checklist_blocks
from bot.runtime.services import Services


def register_checklist_ui(app: AsyncApp, services: Services) -> None:
    app.action(CHECKLIST_ACTION)(_ticked(services))


def _selection(action: dict[str, Any]) -> set[int]:
    chosen = action.get("selected_options") or []
    values = {str(o.get("value", "")) for o in chosen if isinstance(o, dict)}
    return {int(v) for v in values if v.isdigit()}


def _incident_of(action: dict[str, Any]) -> int | None:
    prefix, _, number = str(action.get("block_id", "")).partition(":")
    return int(number) if prefix == "checklist" and number.isdigit() else None


def _ticked(services: Services) -> Listener:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        action = (body.get("actions") or [{}])[0]
        incident_id = _incident_of(action)
        if incident_id is None:
            await say_privately(respond, "That checklist does not name an incident.")
            return
        now = services.clock.now()
        async with services.db.begin() as session:
            items, changed = await set_done(session, incident_id, _selection(action), user, now)
            for item, done in changed:
                verb = "ticked" if done else "unticked"
                await record(
                    session,
                    incident_id,
                    TimelineEntry(
                        kind=EventKind.CHECKLIST,
                        occurred_at=now,
                        actor=user,
                        source="slack",
                        text=f"Checklist {verb}: {item.text}",
                        data={"position": item.position, "done": done},
                    ),
                    now,
                )
            text, found = checklist_blocks(services.templates, incident_id, items)
        if not items:
            await say_privately(respond, "This incident has no checklist.")
            return
        await respond(text=text, blocks=found, replace_original=True)

    return listener
