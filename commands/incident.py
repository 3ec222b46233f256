"""`/incident` — declare and run incidents. Subcommands arrive release by release."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.settings import Severity
from bot.core.severity import UnknownSeverity, parse_severity
from bot.core.timeline import EventKind, TimelineEntry
from bot.db.incidents import create_incident, record
from bot.outbox.requests import request_war_room
from bot.slack import blocks
from bot.templates import Mrkdwn
from bot.war_room import wait_for_room
from commands.base import CommandContext, Reply, UsageError

MAX_TITLE = 150
ROOM_WAIT_SECONDS = 10.0

SUBCOMMAND_USAGE = {
    "declare": "/incident declare <critical|warning|info|P1-P4> <title>",
    "help": "/incident help",
}


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Declare:
    severity: Severity
    title: str


IncidentArgs = Help | Declare


class IncidentCommand:
    name = "/incident"
    description = "Declare and run an incident: declare, ack, ic, update, resolve, status, help"
    usage = "declare <severity> <title> | help"

    def __init__(self, priorities: dict[str, Severity]) -> None:
        self.priorities = priorities

    def parse(self, text: str) -> IncidentArgs:
        words = text.split(maxsplit=1)
        if not words or words[0].lower() == "help":
            return Help()
        sub, rest = words[0].lower(), words[1] if len(words) > 1 else ""
        if sub == "declare":
            return self._parse_declare(rest)
        available = ", ".join(SUBCOMMAND_USAGE)
        raise UsageError(
            f"`/incident {sub}` is not a subcommand this version knows — try: {available}"
        )

    def _parse_declare(self, rest: str) -> Declare:
        parts = rest.split(maxsplit=1)
        if len(parts) < 2:
            raise UsageError(
                f"declare needs a severity and a title — `{SUBCOMMAND_USAGE['declare']}`"
            )
        try:
            severity = parse_severity(parts[0], self.priorities)
        except UnknownSeverity as exc:
            raise UsageError(str(exc)) from exc
        title = " ".join(parts[1].split())
        if len(title) > MAX_TITLE:
            raise UsageError(f"the title is {len(title)} characters — keep it under {MAX_TITLE}")
        return Declare(severity, title)

    async def run(self, args: IncidentArgs, ctx: CommandContext) -> Reply:
        if isinstance(args, Help):
            return self._help(ctx)
        return await self._declare(args, ctx)

    def _help(self, ctx: CommandContext) -> Reply:
        text = ctx.services.templates.render(
            "incident_help.md.j2", usage_lines=list(SUBCOMMAND_USAGE.values())
        )
        return Reply(text=text, blocks=[blocks.section(text)])

    async def _declare(self, args: Declare, ctx: CommandContext) -> Reply:
        services, who = ctx.services, ctx.invocation.user_id
        async with services.sessions.begin() as session:
            incident = await create_incident(
                session, title=args.title, severity=args.severity, declared_by=who, now=ctx.now
            )
            await record(
                session,
                incident.id,
                TimelineEntry(
                    kind=EventKind.DECLARED,
                    occurred_at=ctx.now,
                    actor=who,
                    source="slack",
                    text=f"{args.severity} incident declared: {args.title}",
                    data={"command": "/incident declare", "channel": ctx.invocation.channel_id},
                ),
                ctx.now,
            )
            await request_war_room(session, incident, ctx.now, invitees=[who])
        services.doorbell.ring()
        services.metrics.incidents_declared.labels(args.severity).inc()
        await ctx.progress(f"Incident #{incident.id} declared — opening its war room…")
        room = await wait_for_room(services, incident.id, ROOM_WAIT_SECONDS)
        if room is None:
            text = (
                f"Incident #{incident.id} is declared; Slack is slow, so its war room will "
                "appear in a moment (nothing is lost). `/incident status` shows where it is."
            )
        else:
            text = services.templates.render(
                "declare_reply.md.j2",
                room_link=Mrkdwn(blocks.channel_link(room)),
                incident_id=incident.id,
                severity=args.severity,
            )
        return Reply(text=text, blocks=[blocks.section(text)])
