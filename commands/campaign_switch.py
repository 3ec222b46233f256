"""What `/pause-campaign` and `/resume-campaign` share: read the campaign, say exactly what
confirming will do, then call stop or start and report the campaign's status after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.config.platform import CampaignsSettings
from bot.core.slack_text import safe
from bot.operations import messages
from bot.operations.backend_calls import call_backend
from commands.base import CommandContext, Executed, OperationRun, Reply, UsageError
from commands.operation_gate import (
    access,
    ask_to_confirm,
    drill_confirm,
    drill_executed,
    ran,
    reply,
)

REASON_LIMIT = 300


@dataclass(frozen=True)
class CampaignArgs:
    campaign_id: str
    reason: str


class CampaignSwitch:
    name: str
    description: str
    usage: str
    action: Literal["paused", "resumed"]
    verb: str  # "Pause"

    def __init__(self, settings: CampaignsSettings) -> None:
        self.settings = settings

    def path(self) -> str:
        return self.settings.stop_path if self.action == "paused" else self.settings.start_path

    def parse(self, text: str) -> CampaignArgs:
        words = text.split()
        if not words:
            raise UsageError("name the campaign")
        campaign_id, reason = words[0], " ".join(words[1:])
        if not self.settings.accepts_id(campaign_id):
            shown = campaign_id[:40]
            raise UsageError(f"`{shown}` is not a campaign id (like cmp-1001)")
        if len(reason) > REASON_LIMIT:
            raise UsageError(f"keep the reason under {REASON_LIMIT} characters")
        return CampaignArgs(campaign_id, reason)

    async def run(self, args: CampaignArgs, ctx: CommandContext) -> Reply:
        verdict, refusal = await access(ctx)
        if refusal is not None:
            return refusal
        fields = {"campaign_id": args.campaign_id, "reason": args.reason}
        drilled = await drill_confirm(ctx, verdict, self.would(args), args=fields)
        if drilled is not None:
            return drilled
        status = await call_backend(
            ctx.services,
            self.settings.backend,
            "GET",
            self.settings.status_path,
            path_params={"id": args.campaign_id},
        )
        if (
            status.error is not None
            and status.error.kind == "client_error"
            and status.error.status == 404
        ):
            await ran(ctx, "unknown_campaign", status.call)
            return Reply(
                text=f":warning: The {self.settings.backend} backend knows no campaign "
                f"`{safe(args.campaign_id, 64)}` — check the id (e.g. in the admin panel)."
            )
        return await ask_to_confirm(
            ctx,
            verdict,
            args=fields,
            summary_lines=self._summary(args, status.data, status.error is not None),
        )

    def would(self, args: CampaignArgs) -> str:
        backend = safe(self.settings.backend, 40)
        return f"ask the {backend} backend to {self.verb.lower()} {safe(args.campaign_id, 64)}"

    def _summary(self, args: CampaignArgs, data: Any, unknown: bool) -> list[str]:
        request = f"POST {self.path().replace('{id}', safe(args.campaign_id, 64))}"
        lines = [
            f"{self.verb} campaign *{safe(args.campaign_id, 64)}*{self._now(data, unknown)}: "
            f"calls `{request}` on the {safe(self.settings.backend, 40)} backend."
        ]
        if args.reason:
            lines.append(f"Reason: {safe(args.reason, REASON_LIMIT)}")
        return lines

    def _now(self, data: Any, unknown: bool) -> str:
        if unknown or not isinstance(data, dict):
            return " (its current status could not be read)"
        name, status = data.get("name"), data.get("status")
        shown = ", ".join(safe(str(x), 80) for x in (name, status) if isinstance(x, str))
        return f" ({shown})" if shown else ""

    async def execute(self, args: dict[str, Any], run: OperationRun) -> Executed:
        drilled = drill_executed(args)
        if drilled is not None:
            return drilled
        campaign_id = str(args.get("campaign_id", ""))
        services = run.services
        body = {"reason": str(args.get("reason", "")), "requested_by": run.requester}
        done = await call_backend(
            services,
            self.settings.backend,
            "POST",
            self.path(),
            path_params={"id": campaign_id},
            json=body,
            idempotency_key=run.idempotency_key,
        )
        what = f"{self.verb.lower()} campaign {campaign_id}"
        if done.error is not None:
            failed = messages.backend_failed(done.error, what=what)
            return Executed(
                reply(failed),
                False,
                done.error.kind,
                f"{self.name} {campaign_id}: failed ({done.error.kind})",
                done.call,
            )
        after = await call_backend(
            services,
            self.settings.backend,
            "GET",
            self.settings.status_path,
            path_params={"id": campaign_id},
        )
        rendered = messages.campaign_result(self.action, campaign_id, done.data, after.data)
        status = after.data.get("status") if isinstance(after.data, dict) else None
        line = f"{self.name} {campaign_id}: {self.action}; status now {status or 'unknown'}"
        return Executed(reply(rendered), True, "ok", line[:300], done.call)
