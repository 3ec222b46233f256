"""`/statuspage-draft [investigating|identified|monitoring|resolved]` — a status-page update
drafted from the incident, posted in the war room with Edit, Approve and Discard."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.status_draft import STATUSES
from bot.db.incidents import incident_for_channel
from bot.slack.gateway import SlackFailure
from bot.status_page.draft_messages import post_draft
from bot.status_page.drafts import DraftError, new_draft
from commands.base import CommandContext, Reply, UsageError


@dataclass(frozen=True)
class DraftArgs:
    status: str | None


class StatuspageDraftCommand:
    name = "/statuspage-draft"
    description = "Draft a status-page update for this incident"
    usage = "[investigating|identified|monitoring|resolved]"

    def parse(self, text: str) -> DraftArgs:
        words = text.lower().split()
        if len(words) > 1 or (words and words[0] not in STATUSES):
            raise UsageError(f"the status is one of {', '.join(STATUSES)} (or leave it out)")
        return DraftArgs(words[0] if words else None)

    async def run(self, args: DraftArgs, ctx: CommandContext) -> Reply:
        services, channel = ctx.services, ctx.invocation.channel_id
        async with services.db.begin() as session:
            incident = await incident_for_channel(session, channel)
        if incident is None:
            return Reply(text=":warning: Run `/statuspage-draft` in the incident's war room.")
        try:
            draft = await new_draft(
                services, incident.id, args.status, ctx.invocation.user_id, ctx.now
            )
            await post_draft(services, draft, channel)
        except DraftError as exc:
            return Reply(text=f":warning: {exc.message}")
        except SlackFailure as exc:
            return Reply(
                text=f":warning: The draft is saved but Slack refused to show it ({exc.code})."
            )
        return Reply(
            text=f"Draft v{draft.version} ({draft.status}) is in the room: edit it, then the "
            "Incident Commander or the communications lead approves it."
        )
