"""The outbox worker: claims due rows, makes the Slack calls, records what happened.

It honours Retry-After, backs off on 5xx, timeouts and connection errors (forever: an outage
delays a room, it never loses one), paces itself below Slack's rate tiers, keeps each
ordering key's rows in order and runs different keys side by side. A permanent refusal
(`invalid_blocks`, `channel_not_found`…) marks the row failed, keeps it and tells the room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import default_slack_rates
from bot.core.errors import CallFailure
from bot.core.pacing import Pacer, pacing_key
from bot.core.retry import Failure, retry_delay
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.outbox import (
    Job,
    backlog,
    claim,
    end_leases,
    mark_failed,
    mark_retry,
    mark_sent,
    prune_sent,
    still_claimed,
)
from bot.infra.logs import bind_context
from bot.infra.replica import replica_id
from bot.infra.time_source import speed_of
from bot.runtime.ports import JobPorts
from bot.slack.gateway import SlackFailure, SlackGateway

log = logging.getLogger(__name__)

After = Callable[[AsyncSession], Awaitable[dict[str, Any] | None]]
LONGEST_PACING_SLEEP = 1.0
ANY_METHOD = "*"  # the failure hook for methods without their own


class Defer(Exception):
    """Not now: pacing says wait `seconds` (not counted as an attempt)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"paced for {seconds:.1f}s")


@dataclass
class PacedSlack:
    """The Slack gateway behind a pacer. Before a job's first call a long wait defers the
    job (its turn is booked, so deferred jobs do not stampede); once a job has called Slack,
    it sleeps through waits instead — restarting it would repeat calls and could starve it."""

    slack: SlackGateway
    pacer: Pacer
    job_id: int
    reserved: set[int]
    calls_made: int = 0
    # A deferral waits on the app's clock; one moved by hand (tests) never gets there by
    # itself, so with such a clock every pacing wait is slept through instead.
    may_defer: bool = True

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        key = pacing_key(method, str(params.get("channel") or "") or None)
        if self.job_id in self.reserved:
            self.reserved.discard(self.job_id)  # its turn was booked when it was deferred
        else:
            wait = self.pacer.wait(key, method, time.monotonic())
            self.pacer.take(key, method, time.monotonic())
            if wait > LONGEST_PACING_SLEEP and self.calls_made == 0 and self.may_defer:
                self.reserved.add(self.job_id)
                raise Defer(wait)
            if wait > 0:
                await asyncio.sleep(wait)
        self.calls_made += 1
        return await self.slack.call(method, **params)


Handler = Callable[["OpContext", Job], Awaitable[After | None]]
# A job's refusal hook: what the call's failure (Slack's, the ticket webhook's) leaves behind.
FailureHook = Callable[["OpContext", Job, CallFailure], Awaitable[None]]


@dataclass
class OpContext:
    services: JobPorts
    slack: PacedSlack


@dataclass
class OutboxWorker:
    services: JobPorts
    slack: SlackGateway
    handlers: dict[str, Handler]
    on_failure: dict[str, FailureHook]
    worker_id: str = field(default_factory=replica_id)
    # Long enough for a job that sleeps through pacing (a name_taken run, many user groups).
    lease: timedelta = timedelta(seconds=180)
    batch: int = 20
    concurrency: int = 10
    idle_seconds: float = 1.0
    _reserved: set[int] = field(default_factory=set)
    # Rows claimed whose outcome could not be recorded (the database was down): their
    # leases end early once it is back, so their channels do not wait out the lease.
    _unrecorded: dict[int, int] = field(default_factory=dict)  # row id -> attempts
    # Rows Slack took whose outcome could not be recorded: recorded once the database is
    # back, never sent again (a second post would be a duplicate in the channel).
    _sent_unrecorded: dict[int, After | None] = field(default_factory=dict)
    _pacer: Pacer | None = None
    _stopping: bool = False

    @property
    def pacer(self) -> Pacer:
        if self._pacer is None:
            self._pacer = Pacer(
                {**default_slack_rates(), **self.services.settings.slack.rate_per_minute}
            )
        return self._pacer

    def stop(self) -> None:
        """Finish the batch in hand, then return from `run_forever` (no half-sent row)."""
        self._stopping = True
        self.services.db.wake_outbox()

    async def run_forever(self) -> None:
        while not self._stopping:
            try:
                done = await self.drain_once()
            except DATABASE_UNAVAILABLE as exc:
                log.warning("outbox: database unavailable", extra={"error": type(exc).__name__})
                done = 0
            if not done and not self._stopping:
                await self.services.db.doorbell.wait(self.idle_seconds)

    async def housekeeping(self, keep_sent: timedelta = timedelta(days=7)) -> None:
        """Publish the backlog per state on /metrics and forget long-sent rows."""
        try:
            async with self.services.db.begin() as session:
                await prune_sent(session, self.services.clock.now() - keep_sent)
                states = await backlog(session)
        except DATABASE_UNAVAILABLE as exc:
            log.warning("outbox housekeeping skipped", extra={"error": type(exc).__name__})
            return
        for state in ("pending", "sending", "sent", "failed"):
            self.services.metrics.outbox_rows.labels(state).set(states.get(state, 0))

    async def drain_once(self) -> int:
        """Claim one batch and send it; the number of rows handled."""
        now = self.services.clock.now()
        await self._record_late()
        async with self.services.db.begin() as session:
            if self._unrecorded:
                await end_leases(session, self.worker_id, self._retry_times(now))
            jobs = await claim(session, self.worker_id, now, lease=self.lease, limit=self.batch)
        self._unrecorded.clear()
        if not jobs:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def one(job: Job) -> None:
            async with gate:
                await self._send(job)

        # Every send runs to its end before a failure is raised: none is still in flight
        # when its lease is ended early.
        results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
        failed = [(job, r) for job, r in zip(jobs, results, strict=True) if r is not None]
        self._unrecorded.update(
            (job.id, job.attempts) for job, _ in failed if job.id not in self._sent_unrecorded
        )
        if failed:
            raise failed[0][1]
        return len(jobs)

    def _retry_times(self, now: datetime) -> dict[int, datetime]:
        """When each unrecorded row may go again: backing off like a failed call, so a
        row whose recording fails every time is not re-sent in a tight loop."""
        return {
            job_id: now
            + timedelta(seconds=retry_delay(Failure("connection_error"), attempts) or 1.0)
            for job_id, attempts in self._unrecorded.items()
        }

    async def _send(self, job: Job) -> None:
        bind_context(outbox_id=job.id, incident_id=job.incident_id, outbox_method=job.method)
        handler = self.handlers.get(job.method)
        paced = PacedSlack(self.slack, self.pacer, job.id, self._reserved)
        paced.may_defer = speed_of(self.services.clock) is not None
        ctx = OpContext(self.services, paced)
        started = time.monotonic()
        try:
            if handler is None:
                raise SlackFailure(job.method, "unknown_outbox_method")
            after = await handler(ctx, job)
        except Defer as deferred:  # pacing waits real seconds; a drill's clock may run faster
            speed = speed_of(self.services.clock) or 1.0
            await self._retry(job, deferred.seconds * speed, "paced", counted=False)
            return
        except CallFailure as exc:  # Slack's, or the ticket webhook's
            await self._failed(ctx, job, exc)
            return
        except Exception as exc:  # a bug in a handler must not stop the worker or lose the row
            log.exception("outbox handler crashed", extra={"method": job.method})
            await self._retry(job, 30.0, f"crash: {type(exc).__name__}")
            return
        self.services.metrics.outbox_sent.labels(job.method, "sent").inc()
        self.services.metrics.slack_call_seconds.labels(job.method).observe(
            time.monotonic() - started
        )
        try:
            async with self.services.db.begin() as session:
                await self._record(session, job.id, after)
        except DATABASE_UNAVAILABLE:
            self._sent_unrecorded[job.id] = after
            raise

    async def _record_late(self) -> None:
        """Record the sends Slack took while the database was away (a database error
        propagates, and the rest wait for the next try)."""
        for job_id, after in list(self._sent_unrecorded.items()):
            try:
                async with self.services.db.begin() as session:
                    if await still_claimed(session, job_id, self.worker_id):
                        await self._record(session, job_id, after)
            except DATABASE_UNAVAILABLE:
                raise
            except Exception:  # a bug in `after`: the row is re-sent when its lease ends
                log.exception("outbox: recording a sent row failed", extra={"outbox_id": job_id})
            del self._sent_unrecorded[job_id]

    async def _record(self, session: AsyncSession, job_id: int, after: After | None) -> None:
        result = await after(session) if after is not None else None
        await mark_sent(session, job_id, self.services.clock.now(), result)

    async def _failed(self, ctx: OpContext, job: Job, exc: CallFailure) -> None:
        delay = retry_delay(exc.failure, job.attempts)
        if delay is not None:
            log.info(
                "outbox: retrying later",
                extra={"method": exc.method, "error": exc.code, "delay_s": delay},
            )
            self.services.metrics.outbox_sent.labels(job.method, "retry").inc()
            await self._retry(job, delay, f"{exc.method}: {exc.code}")
            return
        log.warning("outbox: Slack refused", extra={"method": exc.method, "error": exc.code})
        self.services.metrics.outbox_sent.labels(job.method, "failed").inc()
        async with self.services.db.begin() as session:
            await mark_failed(
                session, job.id, self.services.clock.now(), f"{exc.method}: {exc.code}"
            )
        hook = self.on_failure.get(job.method) or self.on_failure.get(ANY_METHOD)
        if hook is not None:
            await hook(ctx, job, exc)

    async def _retry(self, job: Job, seconds: float, error: str, *, counted: bool = True) -> None:
        not_before = self.services.clock.now() + timedelta(seconds=seconds)
        async with self.services.db.begin() as session:
            await mark_retry(session, job.id, not_before, error, counted=counted)
