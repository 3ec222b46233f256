"""Which handler carries out which outbox row; plain Slack methods are sent as queued."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.channel_posts import post_group, refresh_room_summary
from bot.core.errors import CallFailure
from bot.core.timeline import EventKind
from bot.db.incidents import record
from bot.db.models import Incident
from bot.db.outbox import Job
from bot.incidents.clock_card import refresh_clock
from bot.outbox.requests import (
    GROUP_POST,
    ROOM_CLOCK,
    ROOM_CREATE,
    ROOM_INTRO,
    ROOM_INVITE,
    ROOM_MESSAGE,
    ROOM_SUMMARY,
)
from bot.outbox.worker import ANY_METHOD, After, FailureHook, Handler, OpContext
from bot.post_incident.checklist import ROOM_FILES
from bot.post_incident.post_mortem import share_resolution_files
from bot.slack.gateway import SlackFailure
from bot.tickets.webhook import TICKET_CREATE, TICKET_RESOLVE, send_ticket, ticket_refused
from bot.war_room.opening import (
    ALREADY_DONE,
    create_room,
    entry,
    invite_responders,
    post_intro,
    room_create_failed,
)

# Slack methods the outbox sends exactly as queued (the manifest test reads this list).
PLAIN_METHODS = (
    "chat.postMessage",
    "chat.update",
    "conversations.setTopic",
    "pins.add",
    "bookmarks.add",
    "conversations.archive",
)


async def plain_call(ctx: OpContext, job: Job) -> After | None:
    params = {k: v for k, v in job.payload.items() if not k.startswith("_")}
    try:
        data = await ctx.slack.call(job.method, **params)
    except SlackFailure as exc:
        if exc.code not in ALREADY_DONE:
            raise
        data = {}
    then = job.payload.get("_then")
    if then is None or job.incident_id is None:
        return None
    incident_id = job.incident_id

    async def after(session: AsyncSession) -> dict[str, Any]:
        await _then(ctx, session, str(then), incident_id, data)
        return {"ts": data.get("ts")} if data.get("ts") else {}

    return after


async def _then(
    ctx: OpContext, session: AsyncSession, then: str, incident_id: int, data: dict[str, Any]
) -> None:
    services = ctx.services
    now = services.clock.now()
    if then == "announced":
        text, kind = "Announced", EventKind.ANNOUNCED
        details = {"channel": data.get("channel"), "ts": data.get("ts")}
    elif then == "ready":
        incident = await session.get(Incident, incident_id)
        seconds = (now - incident.created_at).total_seconds() if incident else 0.0
        services.metrics.war_room_ready_seconds.observe(max(seconds, 0.0))
        text, kind = (
            "War room ready: created, responders invited, intro pinned",
            EventKind.MESSAGE_POSTED,
        )
        details = {"seconds": round(seconds, 3), "at": time.time()}
    else:
        return
    await record(session, incident_id, entry(kind, text, details, services), now)


async def room_message(ctx: OpContext, job: Job) -> After | None:
    """A message queued before its room existed: sent to the room the worker opened since."""
    async with ctx.services.db.begin() as session:
        incident = await session.get(Incident, job.incident_id or 0)
        channel = incident.channel_id if incident else None
    if channel is None:
        return None  # the room could not be opened; the DR channel was told
    text, found = str(job.payload.get("text", "")), job.payload.get("blocks")
    await ctx.slack.call("chat.postMessage", channel=channel, text=text, blocks=found)
    return None


def handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {method: plain_call for method in PLAIN_METHODS}
    table.update(
        {
            ROOM_CREATE: create_room,
            ROOM_INVITE: invite_responders,
            ROOM_INTRO: post_intro,
            ROOM_SUMMARY: refresh_room_summary,
            GROUP_POST: post_group,
            ROOM_CLOCK: refresh_clock,
            ROOM_MESSAGE: room_message,
            ROOM_FILES: share_resolution_files,
            TICKET_CREATE: send_ticket,
            TICKET_RESOLVE: send_ticket,
        }
    )
    return table


HINTS = {
    "not_in_channel": "invite @warroom to that channel (or grant chat:write.public)",
    "channel_not_found": "check the channel names in slack: (warroom check-config)",
    "is_archived": "the channel is archived; unarchive it or change the setting",
    "missing_scope": "reinstall the Slack app from app_manifest.yaml",
}


async def record_refusal(ctx: OpContext, job: Job, exc: CallFailure) -> None:
    """Any other refused call of an incident's goes on its timeline, so someone sees it."""
    if job.incident_id is None:
        return
    services = ctx.services
    what = "the intro" if job.method == ROOM_INTRO else job.method
    hint = HINTS.get(exc.code, "the rest of the room goes on")
    async with services.db.begin() as session:
        await record(
            session,
            job.incident_id,
            entry(
                EventKind.WAR_ROOM_FAILED,
                f"Slack refused {what} ({exc.code}); {hint}",
                {"method": exc.method, "error": exc.code, "outbox_id": job.id},
                services,
            ),
            services.clock.now(),
        )


def failure_hooks() -> dict[str, FailureHook]:
    return {
        ROOM_CREATE: room_create_failed,
        TICKET_CREATE: ticket_refused,
        TICKET_RESOLVE: ticket_refused,
        ANY_METHOD: record_refusal,
    }
