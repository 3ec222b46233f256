"""Building a war room, one outbox row at a time: create, invite, topic, intro, pin,
bookmarks, announcement. Each step is a handler the outbox worker runs; what a step learns
(the channel id, the intro's ts) is saved with the row's completion, and the next steps are
queued behind it under the room's ordering key."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.bookmarks import room_bookmarks
from bot.core.errors import CallFailure
from bot.core.severity import SEVERITY_EMOJI
from bot.core.timeline import EventKind, TimelineEntry
from bot.core.war_room_names import room_name_from_template, with_suffix
from bot.db.alert_groups import posted_groups_of_incident
from bot.db.alerts import alerts_signature, newest_alerts_of_incident
from bot.db.incidents import incident_for_channel, record
from bot.db.models import Alert, Incident
from bot.db.outbox import Job, enqueue
from bot.infra.templates import Mrkdwn
from bot.outbox.requests import (
    ROOM_INTRO,
    ROOM_INVITE,
    channel_key,
    channel_ref,
    request_clock_refresh,
    request_group_post,
    request_room_summary,
    request_topic,
    room_key,
)
from bot.outbox.worker import After, OpContext
from bot.runtime.ports import HasClock, WarRoomPorts
from bot.slack import blocks
from bot.slack.alert_messages import IncidentFacts, war_room_intro
from bot.slack.gateway import SlackFailure

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 20
ADOPT_PAGES = 10  # conversations.list pages searched for our own channel (1000 each)
INTRO_ALERTS = 20
ALREADY_DONE = {"already_in_channel", "already_pinned", "cant_invite_self"}


async def load_incident(services: WarRoomPorts, incident_id: int) -> Incident | None:
    async with services.db.read() as session:
        return await session.get(Incident, incident_id)


def entry(kind: EventKind, text: str, data: dict[str, Any], services: HasClock) -> TimelineEntry:
    return TimelineEntry(kind=kind, occurred_at=services.clock.now(), text=text, data=data)


async def wait_for_room(services: WarRoomPorts, incident_id: int, seconds: float) -> str | None:
    """The room's channel id once the worker has created it (None if not within `seconds`)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        incident = await load_incident(services, incident_id)
        if incident is not None and incident.channel_id:
            return incident.channel_id
        if incident is None or incident.room_state == "failed":
            return None
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ room.create


async def create_room(ctx: OpContext, job: Job) -> After | None:
    services = ctx.services
    incident = await load_incident(services, int(job.payload["incident_id"]))
    if incident is None or incident.channel_id:
        return None  # gone, or created by an earlier attempt whose completion was recorded
    room = services.settings.slack.war_room
    tz = ZoneInfo(services.settings.timezone)
    name = room_name_from_template(
        room.name_template,
        prefix=room.prefix,
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity,
        day=incident.created_at.astimezone(tz).strftime("%Y%m%d"),
        drill=incident.is_drill,
    )
    channel_id, channel_name = await _create_channel(
        ctx, name, room.private, retry=job.attempts > 1
    )
    services.metrics.war_rooms_opened.inc()
    log.info("war room created", extra={"incident_id": incident.id, "channel": channel_name})
    invitees = [str(u) for u in job.payload.get("invitees", []) if u]

    async def after(session: AsyncSession) -> dict[str, Any]:
        await _room_created(services, session, incident.id, channel_id, channel_name, invitees)
        return {"channel_id": channel_id, "channel_name": channel_name}

    return after


async def _create_channel(
    ctx: OpContext, name: str, private: bool, *, retry: bool
) -> tuple[str, str]:
    """`name`, else `name-2`, `name-3`, … while Slack says `name_taken`. On a retry, a taken
    name may be our own channel from an attempt that died before it was recorded: adopt it."""
    candidate = name
    for attempt in range(2, MAX_NAME_ATTEMPTS + 2):
        try:
            data = await ctx.slack.call("conversations.create", name=candidate, is_private=private)
        except SlackFailure as exc:
            if exc.code != "name_taken":
                raise
            if retry and (ours := await _adoptable(ctx, candidate, private)):
                return ours
            candidate = with_suffix(name, attempt)
            continue
        channel = data["channel"]
        return str(channel["id"]), str(channel["name"])
    raise SlackFailure("conversations.create", "name_taken")


async def _adoptable(ctx: OpContext, name: str, private: bool) -> tuple[str, str] | None:
    try:
        return await _unclaimed_own_channel(ctx, name, private)
    except SlackFailure as exc:
        if exc.transient:
            raise
        log.warning("cannot look for our own channel", extra={"error": exc.code})
        return None  # e.g. missing_scope on an old install: fall back to a suffix


async def _unclaimed_own_channel(
    ctx: OpContext, name: str, private: bool
) -> tuple[str, str] | None:
    """The channel called `name` that this bot created and no incident uses, if any."""
    me = str((await ctx.slack.call("auth.test")).get("user_id", ""))
    cursor = ""
    for _ in range(ADOPT_PAGES):
        data = await ctx.slack.call(
            "conversations.list",
            types="private_channel" if private else "public_channel",
            exclude_archived=True,
            limit=1000,
            cursor=cursor or None,
        )
        for channel in data.get("channels", []):
            if channel.get("name") == name and channel.get("creator") == me:
                channel_id = str(channel["id"])
                async with ctx.services.db.begin() as session:
                    used = await incident_for_channel(session, channel_id)
                return None if used is not None else (channel_id, name)
        cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return None
    return None


async def _room_created(
    services: WarRoomPorts,
    session: AsyncSession,
    incident_id: int,
    channel_id: str,
    channel_name: str,
    invitees: list[str],
) -> None:
    incident = await session.get(Incident, incident_id, populate_existing=True)
    if incident is None:
        return
    now = services.clock.now()
    incident.channel_id, incident.channel_name = channel_id, channel_name
    incident.room_state, incident.updated_at = "open", now
    await record(
        session,
        incident_id,
        entry(
            EventKind.WAR_ROOM_OPENED,
            f"War room #{channel_name} created",
            {"channel_id": channel_id, "channel_name": channel_name},
            services,
        ),
        now,
    )
    key = room_key(incident_id)
    invite = {"incident_id": incident_id, "invitees": invitees}
    await enqueue(
        session,
        method=ROOM_INVITE,
        payload=invite,
        ordering_key=key,
        incident_id=incident_id,
        now=now,
    )
    await request_topic(session, services.templates, incident, now)
    await enqueue(
        session,
        method=ROOM_INTRO,
        payload={"incident_id": incident_id},
        ordering_key=key,
        incident_id=incident_id,
        now=now,
    )
    await _queue_announcement(services, session, incident, now)
    await _link_group_posts(services, session, incident_id, now)


async def _link_group_posts(
    services: WarRoomPorts, session: AsyncSession, incident_id: int, now: datetime
) -> None:
    """Alerts-channel posts of the incident's groups now link to the room."""
    for group in await posted_groups_of_incident(session, incident_id):
        channel = group.message_channel or services.settings.slack.alerts_channel
        await request_group_post(session, group, channel, now, new=False)


async def _queue_announcement(
    services: WarRoomPorts, session: AsyncSession, incident: Incident, now: Any
) -> None:
    slack = services.settings.slack
    target = slack.announce_channel if incident.severity == "critical" else slack.alerts_channel
    text = services.templates.render(
        "announcement.md.j2",
        emoji=SEVERITY_EMOJI.get(incident.severity, ""),
        severity=incident.severity,
        incident_id=incident.id,
        title=incident.title,
        room_link=Mrkdwn(blocks.channel_link(incident.channel_id or "")),
    )
    channel, ordering = channel_ref(target), channel_key(target)
    if incident.is_drill and incident.channel_id:  # a drill never pages the real channels
        text = f":construction: *DRILL* — a real incident would announce in {channel}: {text}"
        channel, ordering = incident.channel_id, room_key(incident.id)
    await enqueue(
        session,
        method="chat.postMessage",
        payload={
            "channel": channel,
            "text": text,
            "blocks": [blocks.section(text)],
            "_then": "announced",
        },
        ordering_key=ordering,
        incident_id=incident.id,
        now=now,
    )


async def room_create_failed(ctx: OpContext, job: Job, exc: CallFailure) -> None:
    """Slack refused the channel for good: say so on the timeline and where people look."""
    services = ctx.services
    incident_id = int(job.payload["incident_id"])
    now = services.clock.now()
    text = (
        f":warning: Could not open a war room for incident #{incident_id}: Slack answered "
        f"`{exc.code}`. Check the app's scopes (channels:manage, groups:write) and the "
        "war_room.name_template, then open one by hand."
    )
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return
        incident.room_state = "failed"
        await record(
            session,
            incident_id,
            entry(
                EventKind.WAR_ROOM_FAILED,
                f"could not create the war room ({exc.code})",
                {"method": exc.method, "error": exc.code},
                services,
            ),
            now,
        )
        target = services.settings.slack.announce_channel
        await enqueue(
            session,
            method="chat.postMessage",
            payload={"channel": channel_ref(target), "text": text},
            ordering_key=channel_key(target),
            incident_id=incident_id,
            now=now,
        )


# ------------------------------------------------------------------ room.invite


async def invite_responders(ctx: OpContext, job: Job) -> After | None:
    services = ctx.services
    incident = await load_incident(services, int(job.payload["incident_id"]))
    if incident is None or not incident.channel_id:
        return None
    room = services.settings.slack.war_room
    members = [str(u) for u in job.payload.get("invitees", []) if u]
    members.extend(room.invite_users)
    problems: list[str] = []
    for group in room.invite_usergroups:
        try:
            data = await ctx.slack.call("usergroups.users.list", usergroup=group)
            members.extend(str(u) for u in data.get("users", []))
        except SlackFailure as exc:
            if exc.transient:
                raise
            problems.append(f"user group {group}: {exc.code}")
    wanted = list(dict.fromkeys(m for m in members if m))
    invited = await _invite(ctx, incident.channel_id, wanted, problems)

    async def after(session: AsyncSession) -> dict[str, Any]:
        now = services.clock.now()
        await record(
            session,
            incident.id,
            entry(
                EventKind.MEMBERS_INVITED,
                f"Responders invited ({len(invited)})",
                {"users": sorted(invited)},
                services,
            ),
            now,
        )
        for problem in problems:
            await record(
                session,
                incident.id,
                entry(EventKind.WAR_ROOM_FAILED, f"could not invite {problem}", {}, services),
                now,
            )
        return {"invited": sorted(invited), "problems": problems}

    return after


async def _invite(ctx: OpContext, channel: str, users: list[str], problems: list[str]) -> list[str]:
    """All at once; when Slack refuses the batch, one by one so one bad id keeps no one out."""
    if not users:
        return []
    try:
        await ctx.slack.call("conversations.invite", channel=channel, users=",".join(users))
        return users
    except SlackFailure as exc:
        if exc.code in ALREADY_DONE:
            return users
        if exc.transient:
            raise
        if len(users) == 1:
            problems.append(f"{users[0]}: {exc.code}")
            return []
    invited = []
    for user in users:
        invited.extend(await _invite(ctx, channel, [user], problems))
    return invited


# ------------------------------------------------------------------ room.intro


async def intro_alerts(session: AsyncSession, incident_id: int) -> list[Alert]:
    """The alerts a room's intro (and its alert summary) shows."""
    return await newest_alerts_of_incident(session, incident_id, INTRO_ALERTS)


def incident_facts(incident: Incident) -> IncidentFacts:
    return IncidentFacts(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        state=incident.state,
        declared_by=incident.declared_by,
        created_at=incident.created_at,
        during_maintenance=incident.during_maintenance,
        is_drill=incident.is_drill,
    )


async def post_intro(ctx: OpContext, job: Job) -> After | None:
    services = ctx.services
    incident_id = int(job.payload["incident_id"])
    async with services.db.begin() as session:
        incident = await session.get(Incident, incident_id)
        alerts = await intro_alerts(session, incident_id) if incident else []
        firing, resolved, shown = await alerts_signature(session, incident_id)
    if incident is None or not incident.channel_id:
        return None
    message = war_room_intro(
        services.templates,
        incident_facts(incident),
        alerts,
        ZoneInfo(services.settings.timezone),
        total=firing + resolved,
        integrations=services.settings.integrations.items,
    )
    data = await ctx.slack.call(
        "chat.postMessage", channel=incident.channel_id, text=message.text, blocks=message.blocks
    )
    ts = str(data["ts"])
    channel_id = incident.channel_id
    bookmarks = room_bookmarks(
        services.settings.slack.war_room.bookmarks, [dict(a.links) for a in alerts]
    )

    async def after(session: AsyncSession) -> dict[str, Any]:
        now = services.clock.now()
        stored = await session.get(Incident, incident_id, populate_existing=True)
        if stored is not None:
            stored.intro_ts, stored.alerts_shown = ts, shown
        await record(
            session,
            incident_id,
            entry(EventKind.MESSAGE_POSTED, "Intro posted", {"ts": ts}, services),
            now,
        )
        key = room_key(incident_id)
        await enqueue(
            session,
            method="pins.add",
            payload={"channel": channel_id, "timestamp": ts, "_then": "ready"},
            ordering_key=key,
            incident_id=incident_id,
            now=now,
        )
        for title, url in bookmarks:
            await enqueue(
                session,
                method="bookmarks.add",
                payload={"channel_id": channel_id, "title": title, "type": "link", "link": url},
                ordering_key=key,
                incident_id=incident_id,
                now=now,
            )
        await request_room_summary(
            session, incident_id, now, services.settings.alerts.room_summary_debounce
        )
        await request_clock_refresh(session, incident_id, now)
        return {"ts": ts}

    return after
