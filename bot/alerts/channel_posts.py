"""Alert messages kept up to date: a group's post in the alerts channel, and the one
alert summary in a war room. Rendered when sent, so a debounced row shows the latest state."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.alert_groups import group_stats
from bot.db.alerts import alerts_signature, newest_alerts_of_group
from bot.db.models import AlertGroup, Incident
from bot.db.outbox import Job
from bot.outbox.worker import After, OpContext
from bot.slack.alert_messages import GroupFacts, alert_post, room_alert_summary
from bot.war_room.opening import intro_alerts

POST_ALERTS = 20


async def refresh_room_summary(ctx: OpContext, job: Job) -> After | None:
    """Post the summary once there is more to say than the intro, then edit it in place."""
    services = ctx.services
    incident_id = int(job.payload["incident_id"])
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None or not incident.channel_id or not incident.intro_ts:
            return None  # the intro, still to come, shows every alert
        firing, resolved, shown = await alerts_signature(session, incident_id)
        if shown == incident.alerts_shown:
            return None  # nothing new since the intro or the last summary
        alerts = await intro_alerts(session, incident_id)
    tz = ZoneInfo(services.settings.timezone)
    message = room_alert_summary(
        services.templates, alerts, services.clock.now(), tz, totals=(firing, resolved)
    )
    params: dict[str, Any] = {
        "channel": incident.channel_id,
        "text": message.text,
        "blocks": message.blocks,
    }
    if incident.summary_ts:
        await ctx.slack.call("chat.update", ts=incident.summary_ts, **params)
        ts = incident.summary_ts
    else:
        ts = str((await ctx.slack.call("chat.postMessage", **params))["ts"])

    async def after(session: AsyncSession) -> dict[str, Any]:
        stored = await session.get(Incident, incident_id, populate_existing=True)
        if stored is not None:
            stored.summary_ts, stored.alerts_shown = ts, shown
        return {"ts": ts, "shown": shown}

    return after


def group_facts(group: AlertGroup, incident_channel: str | None) -> GroupFacts:
    return GroupFacts(
        id=group.id,
        title=group.title,
        severity=group.severity,
        status=group.status,
        first_fired_at=group.first_fired_at,
        acknowledged_by=group.acknowledged_by,
        incident_channel_id=incident_channel,
        during_maintenance=group.during_maintenance,
    )


async def post_group(ctx: OpContext, job: Job) -> After | None:
    """A new post (`new`) or an edit of the group's post in the alerts channel."""
    services = ctx.services
    group_id = int(job.payload["group_id"])
    async with services.db.begin() as session:
        group = await session.get(AlertGroup, group_id)
        if group is None:
            return None
        incident = await session.get(Incident, group.incident_id) if group.incident_id else None
        alerts = await newest_alerts_of_group(session, group.group_key, POST_ALERTS)
        stats = await group_stats(session, group.group_key)
    facts = group_facts(group, incident.channel_id if incident else None)
    message = alert_post(
        services.templates,
        facts,
        alerts,
        ZoneInfo(services.settings.timezone),
        total=stats.firing + stats.resolved,
        integrations=services.settings.integrations.items,
    )
    if not job.payload.get("new") and group.message_ts and group.message_channel:
        await ctx.slack.call(
            "chat.update",
            channel=group.message_channel,
            ts=group.message_ts,
            text=message.text,
            blocks=message.blocks,
        )
        return None
    data = await ctx.slack.call(
        "chat.postMessage",
        channel=str(job.payload["channel"]),
        text=message.text,
        blocks=message.blocks,
    )
    channel, ts = str(data["channel"]), str(data["ts"])

    async def after(session: AsyncSession) -> dict[str, Any]:
        stored = await session.get(AlertGroup, group_id, populate_existing=True)
        if stored is not None:
            stored.message_channel, stored.message_ts = channel, ts
        return {"channel": channel, "ts": ts}

    return after
