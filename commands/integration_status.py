"""`/integration-status [name] [--force]` — every integration probed at once: up, degraded
or down, latency, last error, last success, and the runbook's fallback for those down."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.config.platform import IntegrationsSettings
from bot.core.slack_text import safe
from bot.operations import messages
from bot.operations.command_log import Call
from bot.operations.integration_probe import probe
from commands.base import CommandContext, Reply, UsageError
from commands.operation_gate import checked_name, gate, ran, reply


@dataclass(frozen=True)
class IntegrationStatusArgs:
    name: str | None
    force: bool


class IntegrationStatusCommand:
    name = "/integration-status"
    description = "Health of the platform's integrations (WhatsApp, PMS, insurer, …)"
    usage = "[name] [--force]"

    def __init__(self, settings: IntegrationsSettings) -> None:
        self.settings = settings

    def parse(self, text: str) -> IntegrationStatusArgs:
        words = text.split()
        force = "--force" in words
        rest = [w for w in words if w != "--force"]
        if any(w.startswith("-") for w in rest):
            raise UsageError(f"unknown option `{next(w for w in rest if w.startswith('-'))}`")
        if len(rest) > 1:
            raise UsageError("name at most one integration")
        name = checked_name(rest[0], "integration") if rest else None
        if name is not None and name not in self.settings.items:
            known = ", ".join(sorted(self.settings.items))
            raise UsageError(f"no integration called `{name}` — known: {known}")
        return IntegrationStatusArgs(name, force)

    async def run(self, args: IntegrationStatusArgs, ctx: CommandContext) -> Reply:
        _verdict, refusal = await gate(ctx, self.would(args))
        if refusal is not None:
            return refusal
        names = [args.name] if args.name else sorted(self.settings.items)
        if args.force or not ctx.services.probes.fresh(ctx.now, self.settings.cache_for):
            await ctx.progress(f"Checking {len(names)} integration(s)…")
        probed = await probe(ctx.services, names, force=args.force)
        down = [r.name for r in probed.results if r.status == "down"]
        summary = f"{len(down)} of {len(probed.results)} down" + (
            f": {', '.join(down)}" if down else ""
        )
        what = f"/integration-status {ctx.invocation.text.strip()}".strip()
        await ran(
            ctx,
            "ok" if not down else "down",
            combined(probed.calls, self.settings.backend),
            f"{what}: {summary}",
        )
        rendered = messages.integration_status(
            probed.results,
            self.settings,
            now=ctx.now,
            tz=ZoneInfo(ctx.services.settings.timezone),
            cached_at=probed.cached_at,
            only=args.name,
        )
        return reply(rendered)

    def would(self, args: IntegrationStatusArgs) -> str:
        which = f"*{safe(args.name, 64)}*" if args.name else "every integration"
        return f"ask the {safe(self.settings.backend, 40)} backend for the health of {which}"


def combined(calls: list[Call], backend: str) -> Call | None:
    """One audit line for a probe round: the one request, or how many and the slowest."""
    if len(calls) <= 1:
        return calls[0] if calls else None
    failed = [c.outcome for c in calls if c.outcome != "ok"]
    return Call(
        backend,
        f"{len(calls)} health requests",
        None,
        max(c.duration_ms for c in calls),
        f"{len(failed)} failed" if failed else "ok",
    )
