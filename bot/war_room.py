"""Opening a war room: channel, people, topic, intro, pin, bookmarks, announcement."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.core.severity import SEVERITY_EMOJI
from bot.core.slack_text import escape
from bot.core.timeline import EventKind, TimelineEntry
from bot.core.war_room_names import war_room_name
from bot.db.incidents import record
from bot.db.models import Incident
from bot.services import Services
from bot.slack import blocks
from bot.slack.gateway import SlackFailure
from bot.templates import Mrkdwn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarRoom:
    channel_id: str
    name: str
    intro_ts: str


async def open_war_room(services: Services, incident: Incident, invitees: list[str]) -> WarRoom:
    """Create the channel and dress it; every step lands on the incident's timeline.

    Only channel creation is fatal; a later step that fails is recorded and the room stays.
    """
    settings = services.settings
    room_settings = settings.slack.war_room
    name = war_room_name(room_settings.prefix, incident.id, incident.title, drill=incident.is_drill)
    channel_id, channel_name = await services.slack.create_channel(
        name, private=room_settings.private
    )
    log.info("war room created", extra={"incident_id": incident.id, "channel": channel_name})
    services.metrics.war_rooms_opened.inc()
    entries = [
        _entry(
            services,
            EventKind.WAR_ROOM_OPENED,
            f"War room #{channel_name} created",
            {"channel_id": channel_id, "channel_name": channel_name},
        )
    ]

    members = [*invitees, *room_settings.invite_users]
    for group in room_settings.invite_usergroups:
        try:
            members.extend(await services.slack.usergroup_members(group))
        except SlackFailure as exc:
            entries.append(_failure(services, f"could not expand user group {group}", exc))
    try:
        await services.slack.invite(channel_id, members)
        entries.append(
            _entry(
                services,
                EventKind.MEMBERS_INVITED,
                "Responders invited",
                {"users": sorted(set(members))},
            )
        )
    except SlackFailure as exc:
        entries.append(_failure(services, "could not invite responders", exc))

    topic = services.templates.render(
        "war_room_topic.txt.j2",
        severity=incident.severity,
        title=incident.title,
        state=incident.state,
    )
    try:
        await services.slack.set_topic(channel_id, topic)
    except SlackFailure as exc:
        entries.append(_failure(services, "could not set the topic", exc))

    intro = await services.slack.post_message(
        channel_id,
        f"Incident #{incident.id}: {escape(incident.title)}",
        intro_blocks(services, incident),
    )
    entries.append(_entry(services, EventKind.MESSAGE_POSTED, "Intro posted", {"ts": intro.ts}))
    try:
        await services.slack.pin(channel_id, intro.ts)
    except SlackFailure as exc:
        entries.append(_failure(services, "could not pin the intro", exc))
    for link in room_settings.bookmarks:
        try:
            await services.slack.add_bookmark(channel_id, link.title, link.url)
        except SlackFailure as exc:
            entries.append(_failure(services, f"could not bookmark {link.title}", exc))
    entries.extend(await _announce(services, incident, channel_id))

    async with services.sessions.begin() as session:
        stored = await session.get(Incident, incident.id)
        if stored is not None:
            stored.channel_id = channel_id
            stored.channel_name = channel_name
            stored.updated_at = services.clock.now()
        for entry in entries:
            await record(session, incident.id, entry, services.clock.now())
    return WarRoom(channel_id, channel_name, intro.ts)


def intro_blocks(services: Services, incident: Incident) -> list[blocks.Block]:
    tz = ZoneInfo(services.settings.timezone)
    declared_at = incident.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    body = services.templates.render(
        "war_room_intro.md.j2",
        severity_label=incident.severity.upper(),
        declared_by_mention=Mrkdwn(blocks.user_mention(incident.declared_by or "Warroom")),
        declared_at=declared_at,
        summary="",
    )
    emoji = SEVERITY_EMOJI.get(incident.severity, "")
    return [
        blocks.header(f"Incident #{incident.id}: {incident.title}"),
        blocks.section(f"{emoji} {body}"),
        blocks.context(f"State: *{incident.state}*", f"Severity: *{incident.severity}*"),
    ]


async def _announce(services: Services, incident: Incident, channel_id: str) -> list[TimelineEntry]:
    slack = services.settings.slack
    target = slack.announce_channel if incident.severity == "critical" else slack.alerts_channel
    text = services.templates.render(
        "announcement.md.j2",
        emoji=SEVERITY_EMOJI.get(incident.severity, ""),
        severity=incident.severity,
        incident_id=incident.id,
        title=incident.title,
        room_link=Mrkdwn(blocks.channel_link(channel_id)),
    )
    try:
        posted = await services.slack.post_message(
            f"#{target.lstrip('#')}", text, [blocks.section(text)]
        )
    except SlackFailure as exc:
        return [_failure(services, f"could not announce in #{target}", exc)]
    return [
        _entry(
            services,
            EventKind.ANNOUNCED,
            f"Announced in #{target}",
            {"channel": posted.channel, "ts": posted.ts},
        )
    ]


def _entry(
    services: Services, kind: EventKind, text: str, data: dict[str, object]
) -> TimelineEntry:
    return TimelineEntry(kind=kind, occurred_at=services.clock.now(), text=text, data=dict(data))


def _failure(services: Services, what: str, exc: SlackFailure) -> TimelineEntry:
    log.warning("%s: %s", what, exc.code)
    hint = " — invite @warroom to that channel" if exc.code == "not_in_channel" else ""
    return _entry(
        services,
        EventKind.WAR_ROOM_FAILED,
        f"{what} ({exc.code}){hint}",
        {"method": exc.method, "error": exc.code},
    )
