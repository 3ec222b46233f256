"""`/queue-status [queue]` — backlog, active jobs, retry age and dead letters per queue,
each judged against the observability playbook's thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.config.platform import QueuesSettings
from bot.core.queue_health import MetricsShapeError, judge_all, parse_metrics
from bot.core.slack_text import safe
from bot.operations import messages
from bot.operations.backend_calls import call_backend
from commands.base import CommandContext, Reply, UsageError
from commands.operation_gate import checked_name, gate, ran, reply


@dataclass(frozen=True)
class QueueStatusArgs:
    queue: str | None


class QueueStatusCommand:
    name = "/queue-status"
    description = "Backlog, retry age and dead letters per queue"
    usage = "[queue]"

    def __init__(self, settings: QueuesSettings) -> None:
        self.settings = settings

    def parse(self, text: str) -> QueueStatusArgs:
        words = text.split()
        if len(words) > 1:
            raise UsageError("name at most one queue")
        return QueueStatusArgs(checked_name(words[0], "queue") if words else None)

    async def run(self, args: QueueStatusArgs, ctx: CommandContext) -> Reply:
        _verdict, refusal = await gate(ctx, self.would(args))
        if refusal is not None:
            return refusal
        answer = await call_backend(
            ctx.services, self.settings.backend, "GET", self.settings.metrics_path
        )
        what = f"/queue-status {args.queue or ''}".strip()
        if answer.error is not None:
            await ran(ctx, answer.error.kind, answer.call, f"{what}: {answer.error.kind}")
            return reply(messages.backend_failed(answer.error, what="read the queue metrics"))
        try:
            metrics = parse_metrics(answer.data)
        except MetricsShapeError as exc:
            await ran(ctx, "bad_response", answer.call, f"{what}: unexpected answer")
            return Reply(
                text=f":warning: The {self.settings.backend} backend answered in a shape Warroom "
                f"does not know (`{safe(exc.field or 'body', 80)}`: {safe(exc.message, 300)}). "
                "Check that "
                f"backends.{self.settings.backend}.base_url points at the queues API."
            )
        readings = list(metrics.readings)
        if args.queue is not None:
            readings = [r for r in readings if r.name == args.queue]
            if not readings:
                known = [r.name for r in metrics.readings]
                await ran(ctx, "unknown_queue", answer.call)
                return reply(messages.queue_not_found(args.queue, known))
        judged = {j.name: j for j in judge_all(metrics, self.settings)}
        judgements = [judged[r.name] for r in readings]
        levels = ", ".join(f"{j.name} {j.level}" for j in judgements)
        await ran(ctx, "ok", answer.call, f"{what}: {levels}")
        rendered = messages.queue_status(
            readings,
            judgements,
            now=ctx.now,
            tz=ZoneInfo(ctx.services.settings.timezone),
            generated_at=metrics.generated_at,
        )
        return reply(rendered)

    def would(self, args: QueueStatusArgs) -> str:
        which = f" of *{safe(args.queue, 64)}*" if args.queue else ""
        return f"read the queue metrics{which} from the {safe(self.settings.backend, 40)} backend"
