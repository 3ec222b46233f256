"""The pinned clock message in a war room: every deadline, edited in place as they change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Incident
from bot.db.outbox import Job, enqueue
from bot.incidents.views import clock_text
from bot.outbox.requests import room_key
from bot.outbox.worker import After, OpContext
from bot.slack import blocks


async def refresh_clock(ctx: OpContext, job: Job) -> After | None:
    services = ctx.services
    incident_id = int(job.payload["incident_id"])
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
    if incident is None or not incident.channel_id or not incident.intro_ts:
        return None  # the intro's completion asks for the clock
    text = await clock_text(services, incident_id, services.clock.now())
    params: dict[str, Any] = {
        "channel": incident.channel_id,
        "text": text,
        "blocks": [blocks.section(text)],
    }
    if incident.clock_ts:
        await ctx.slack.call("chat.update", ts=incident.clock_ts, **params)
        return None
    ts = str((await ctx.slack.call("chat.postMessage", **params))["ts"])
    channel = incident.channel_id

    async def after(session: AsyncSession) -> dict[str, Any]:
        stored = await session.get(Incident, incident_id, populate_existing=True)
        if stored is not None:
            stored.clock_ts = ts
        await enqueue(
            session,
            method="pins.add",
            payload={"channel": channel, "timestamp": ts},
            ordering_key=room_key(incident_id),
            incident_id=incident_id,
            now=services.clock.now(),
        )
        return {"ts": ts}

    return after
