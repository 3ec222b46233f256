"""`/incident` — declare and run incidents: declare, ack, ic, role, severity, update, note,
mitigated, resolve, reopen, status, timeline, export, drill, help."""

from __future__ import annotations

from bot.config.settings import Severity
from bot.core.lifecycle import Move
from bot.db.incidents import create_incident, incident_for_channel
from bot.drill.start import choose_scenario, start_drill, what_will_happen
from bot.exports import ExportError
from bot.exports.slack_upload import share_export
from bot.incidents.actions import (
    ActionError,
    Done,
    add_note,
    assign_role,
    change_severity,
    change_state,
    post_update,
)
from bot.incidents.views import stats_text, status_text, timeline_text
from bot.infra.templates import Mrkdwn
from bot.slack import blocks
from bot.war_room.declare import declare_incident
from bot.war_room.opening import wait_for_room
from commands.base import CommandContext, Reply
from commands.incident_args import (
    USAGE,
    Declare,
    Drill,
    Help,
    IncidentArgs,
    Stats,
    Targeted,
    parse,
)

ROOM_WAIT_SECONDS = 10.0
MOVES = {
    "ack": Move.ACK,
    "mitigated": Move.MITIGATE,
    "resolve": Move.RESOLVE,
    "reopen": Move.REOPEN,
}


class IncidentCommand:
    name = "/incident"
    description = (
        "Declare and run an incident: declare, ack, ic, update, resolve, status, drill, help"
    )
    usage = (
        "declare <sev> <title> | ack | ic | update <text> | resolve | status"
        " | drill [scenario] | help"
    )

    def __init__(self, priorities: dict[str, Severity]) -> None:
        self.priorities = priorities

    def parse(self, text: str) -> IncidentArgs:
        return parse(text, self.priorities)

    async def run(self, args: IncidentArgs, ctx: CommandContext) -> Reply:
        if isinstance(args, Help):
            return self._help(ctx)
        if isinstance(args, Declare):
            return await self._declare(args, ctx)
        if isinstance(args, Drill):
            return await self._drill(args, ctx)
        if isinstance(args, Stats):
            text = await stats_text(ctx.services, args.days, ctx.now)
            return Reply(text=text, blocks=[blocks.section(text)])
        try:
            incident_id = await self._which(args, ctx)
            return await self._act(args, incident_id, ctx)
        except ActionError as exc:
            return Reply(text=f":warning: {exc.message}")

    async def _which(self, args: Targeted, ctx: CommandContext) -> int:
        if args.incident_id is not None:
            return args.incident_id
        async with ctx.services.db.begin() as session:
            incident = await incident_for_channel(session, ctx.invocation.channel_id)
        if incident is None:
            raise ActionError(
                f"this is not a war room — run it in one, or name the incident: "
                f"`{USAGE[args.sub].replace('[#id]', '#42')}`"
            )
        return incident.id

    async def _act(self, args: Targeted, incident_id: int, ctx: CommandContext) -> Reply:
        services, who, now = ctx.services, ctx.invocation.user_id, ctx.now
        if args.sub == "status":
            text = await status_text(services, incident_id, now)
            return Reply(text=text, blocks=[blocks.section(text)])
        if args.sub == "timeline":
            text = await timeline_text(services, incident_id, args.count)
            return Reply(text=text, blocks=[blocks.section(text)])
        if args.sub == "export":
            return await self._export(args.text, incident_id, ctx)
        done: Done
        if args.sub in MOVES:
            done = await change_state(services, incident_id, MOVES[args.sub], who, now, args.text)
        elif args.sub == "ic":
            done = await assign_role(services, incident_id, "commander", args.user or who, who, now)
        elif args.sub == "role":
            done = await assign_role(
                services, incident_id, args.role or "", args.user or who, who, now
            )
        elif args.sub == "severity" and args.severity:
            done = await change_severity(services, incident_id, args.severity, who, now)
        elif args.sub == "update":
            done = await post_update(services, incident_id, args.text, who, now)
        else:
            done = await add_note(services, incident_id, args.text, who, now)
        return Reply(text=done.text)

    async def _export(self, fmt: str, incident_id: int, ctx: CommandContext) -> Reply:
        try:
            text = await share_export(ctx.services, incident_id, fmt, ctx.invocation.channel_id)
        except ExportError as exc:
            return Reply(text=f":warning: {exc}")
        return Reply(text=text)

    async def _drill(self, args: Drill, ctx: CommandContext) -> Reply:

        settings = ctx.services.settings
        chosen, text = choose_scenario(args.scenario, settings.alerts, settings.drills_dir)
        if chosen is not None:
            await start_drill(ctx.services, chosen, ctx.invocation.user_id)
            text = what_will_happen(chosen)
        return Reply(text=text, blocks=[blocks.section(text)])

    def _help(self, ctx: CommandContext) -> Reply:
        text = ctx.services.templates.render(
            "incident_help.md.j2", usage_lines=list(USAGE.values())
        )
        return Reply(text=text, blocks=[blocks.section(text)])

    async def _declare(self, args: Declare, ctx: CommandContext) -> Reply:
        services, who = ctx.services, ctx.invocation.user_id
        async with services.db.begin() as session:
            incident = await create_incident(
                session, title=args.title, severity=args.severity, declared_by=who, now=ctx.now
            )
            await declare_incident(
                session,
                incident,
                text=f"{args.severity} incident declared: {args.title}",
                data={"command": "/incident declare", "channel": ctx.invocation.channel_id},
                actor=who,
                source="slack",
                invitees=[who],
                policy=services.settings.escalation.get(args.severity),
                now=ctx.now,
            )
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
