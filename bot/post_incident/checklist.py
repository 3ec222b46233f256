"""What a resolved incident's room gets: the post-incident checklist people tick, the
timeline export and a pre-filled post-mortem skeleton (uploaded by the outbox), and, if
configured, the room archived after a delay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.escalation import Step
from bot.core.slack_text import safe
from bot.db.checklists import checklist_items, write_checklist
from bot.db.deadlines import plan_step
from bot.db.models import ChecklistItem, Incident
from bot.db.outbox import enqueue
from bot.infra.templates import Templates
from bot.outbox.requests import request_room_message, room_key
from bot.runtime.ports import PostIncidentPorts
from bot.slack import blocks

CHECKLIST_ACTION = "checklist_tick"
ROOM_FILES = "room.files"


def checklist_block_id(incident_id: int) -> str:
    return f"checklist:{incident_id}"


def checklist_blocks(
    templates: Templates, incident_id: int, items: list[ChecklistItem]
) -> tuple[str, list[Any]]:
    done = [i for i in items if i.done_at is not None]
    text = templates.render(
        "checklist_heading.md.j2", incident_id=incident_id, done=len(done), total=len(items)
    )
    options = [
        {"text": {"type": "mrkdwn", "text": safe(item.text, 75)}, "value": str(item.position)}
        for item in items
    ]
    element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": CHECKLIST_ACTION,
        "options": options,
    }
    chosen = [o for o, item in zip(options, items, strict=True) if item.done_at is not None]
    if chosen:
        element["initial_options"] = chosen
    found: list[Any] = [
        blocks.section(text),
        {"type": "actions", "block_id": checklist_block_id(incident_id), "elements": [element]},
    ]
    if done:
        by = templates.label("ticked_by")
        ticks = ", ".join(
            f"{i.position + 1} {by} {blocks.user_mention(i.done_by or '')}" for i in done
        )
        found.append(blocks.context(f"{templates.label('checklist_ticked')}: {ticks}"))
    return text, found


async def after_resolve(
    session: AsyncSession, services: PostIncidentPorts, incident: Incident, now: datetime
) -> None:
    """Queued in the resolving transaction: the checklist message, the timeline export and
    post-mortem skeleton uploads, and the archive step."""
    settings = services.settings.post_incident
    await write_checklist(session, incident.id, settings.checklist)
    items = await checklist_items(session, incident.id)
    text, found = checklist_blocks(services.templates, incident.id, items)
    await request_room_message(session, incident, text, now, found)
    if incident.channel_id:
        await enqueue(
            session,
            method=ROOM_FILES,
            payload={"incident_id": incident.id},
            ordering_key=room_key(incident.id),
            incident_id=incident.id,
            now=now,
        )
    if settings.archive_after is not None and incident.channel_id:
        await _plan_archive(session, incident.id, now + settings.archive_after)


async def _plan_archive(session: AsyncSession, incident_id: int, due_at: datetime) -> None:
    await plan_step(session, incident_id, Step.ARCHIVE, due_at)
