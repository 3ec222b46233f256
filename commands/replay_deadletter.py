"""`/replay-deadletter <queue> [--limit N] [--dry-run]` — a dry run says what would be
replayed; a real run asks for confirmation and carries an Idempotency-Key, so a retry never
replays twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.platform import QueuesSettings
from bot.core.queue_health import MetricsShapeError, parse_metrics
from bot.core.slack_text import safe
from bot.operations import messages
from bot.operations.backend_calls import call_backend
from commands.base import CommandContext, Executed, OperationRun, Reply, UsageError
from commands.operation_gate import (
    access,
    ask_to_confirm,
    checked_name,
    drill_answer,
    drill_confirm,
    drill_executed,
    ran,
    reply,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ReplayArgs:
    queue: str
    limit: int
    dry_run: bool


def _limit(value: str | None) -> int:
    if value is None or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise UsageError(f"--limit takes a whole number from 1 to {MAX_LIMIT:,}")
    return int(value)


class ReplayDeadletterCommand:
    name = "/replay-deadletter"
    description = "Replay a queue's dead letters"
    usage = "<queue> [--limit N] [--dry-run]"

    def __init__(self, settings: QueuesSettings) -> None:
        self.settings = settings

    def parse(self, text: str) -> ReplayArgs:
        words, queue, limit, dry_run = text.split(), None, DEFAULT_LIMIT, False
        i = 0
        while i < len(words):
            word = words[i]
            if word == "--dry-run":
                dry_run = True
            elif word == "--limit" or word.startswith("--limit="):
                value = word.partition("=")[2] if "=" in word else None
                if value is None:
                    i += 1
                    value = words[i] if i < len(words) else None
                limit = _limit(value)
            elif word.startswith("-"):
                raise UsageError(f"unknown option `{word[:30]}`")
            elif queue is None:
                queue = checked_name(word, "queue")
            else:
                raise UsageError("name one queue")
            i += 1
        if queue is None:
            raise UsageError("name the queue whose dead letters to replay")
        if self.settings.known and queue not in self.settings.known:
            raise UsageError(f"no queue `{queue}` — known: {', '.join(self.settings.known)}")
        return ReplayArgs(queue, limit, dry_run)

    async def run(self, args: ReplayArgs, ctx: CommandContext) -> Reply:
        verdict, refusal = await access(ctx)
        if refusal is not None:
            return refusal
        fields = {"queue": args.queue, "limit": args.limit}
        drilled = (
            await drill_answer(ctx, self.would(args))
            if args.dry_run
            else await drill_confirm(ctx, verdict, self.would(args), args=fields, danger=True)
        )
        if drilled is not None:
            return drilled
        if args.dry_run:
            return await self._dry_run(args, ctx)
        waiting = await self._dead_letters(ctx, args.queue)
        where = safe(args.queue, 64)
        request = f"POST {self.settings.replay_path.replace('{queue}', where)}"
        lines = [
            f"Replay up to {args.limit:,} dead letters of *{where}*{waiting}: calls "
            f"`{request}` on the {safe(self.settings.backend, 40)} backend.",
            "Replayed messages go back into the queue and are sent again.",
        ]
        return await ask_to_confirm(
            ctx,
            verdict,
            args=fields,
            summary_lines=lines,
            danger=True,
        )

    def would(self, args: ReplayArgs) -> str:
        backend, queue = safe(self.settings.backend, 40), safe(args.queue, 64)
        what = "for a dry run of replaying" if args.dry_run else "to replay"
        return f"ask the {backend} backend {what} up to {args.limit:,} dead letters of {queue}"

    async def _dead_letters(self, ctx: CommandContext, queue: str) -> str:
        """ " (12 waiting)" from the queue metrics, when they can be read."""
        answer = await call_backend(
            ctx.services, self.settings.backend, "GET", self.settings.metrics_path
        )
        try:
            reading = parse_metrics(answer.data).reading(queue) if answer.response else None
        except MetricsShapeError:
            reading = None
        return f" ({reading.dead_letters:,} waiting)" if reading else ""

    async def _dry_run(self, args: ReplayArgs, ctx: CommandContext) -> Reply:
        answer = await self._replay(ctx.services, args.queue, args.limit, True, None)
        what = f"/replay-deadletter {args.queue} --dry-run"
        outcome = answer.error.kind if answer.error else "ok"
        await ran(ctx, outcome, answer.call, f"{what}: {outcome}")
        if answer.error is not None:
            return reply(messages.backend_failed(answer.error, what="dry-run the replay"))
        return reply(
            messages.replay_result(args.queue, answer.data, dry_run=True, limit=args.limit)
        )

    async def _replay(
        self, services: Any, queue: str, limit: int, dry_run: bool, key: str | None
    ) -> Any:
        return await call_backend(
            services,
            self.settings.backend,
            "POST",
            self.settings.replay_path,
            path_params={"queue": queue},
            json={"limit": limit, "dry_run": dry_run},
            idempotency_key=key,
        )

    async def execute(self, args: dict[str, Any], run: OperationRun) -> Executed:
        drilled = drill_executed(args)
        if drilled is not None:
            return drilled
        queue, limit = str(args.get("queue", "")), int(args.get("limit", DEFAULT_LIMIT))
        answer = await self._replay(run.services, queue, limit, False, run.idempotency_key)
        if answer.error is not None:
            failed = messages.backend_failed(answer.error, what=f"replay {queue}'s dead letters")
            line = f"{self.name} {queue}: failed ({answer.error.kind})"
            return Executed(reply(failed), False, answer.error.kind, line, answer.call)
        rendered = messages.replay_result(queue, answer.data, dry_run=False, limit=limit)
        data = answer.data if isinstance(answer.data, dict) else {}
        replayed, remaining = data.get("replayed", "?"), data.get("remaining", "?")
        line = f"{self.name} {queue}: replayed {replayed}, {remaining} remain"
        return Executed(reply(rendered), True, "ok", line[:300], answer.call)
