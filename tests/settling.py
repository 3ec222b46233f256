"""`settled(h)`: wait until the bot has nothing left to do — instead of a fixed sleep.

A test that checks that nothing more happened (no second room, no duplicate post, no ticket
sent twice) must let the bot finish first; a fixed sleep lets a late duplicate slip past it.
The bot has settled when, twice in a row:

- no bolt listener is still running after its ack, on any replica (a command's work, its
  reply, a button's effect);
- the ticks, driven here each round once no listener runs, find nothing due: the escalation
  clock (`clock_tick`) and the alert tick's jobs (silent alerts resolved, warnings promoted,
  resolutions suggested). So the ticks have run at least once after whatever the test did,
  and what they owed is done;
- the outbox is drained: no row pending or being sent whose `not_before` has come. On a
  clock that runs by itself, rows due within `lookahead` real seconds count too (a debounced
  clock message, a short retry); on a clock moved by hand (`ManualClock`), only rows due now.

It polls, bounded by `within`, and fails naming what is still pending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from bot.alerts.tick import expire_silent_alerts, promote_due_groups, suggest_resolutions
from bot.db.models import OutboxMessage
from bot.db.outbox import IN_FLIGHT
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import speed_of
from bot.runtime.services import Services
from bot.web.keys import LISTENERS, SERVICES
from tests.harness import Harness

POLL_SECONDS = 0.05
QUIET_ROUNDS = 2

AlertJob = Callable[[Services, datetime], Awaitable[int]]
ALERT_JOBS: tuple[AlertJob, ...] = (expire_silent_alerts, promote_due_groups, suggest_resolutions)


async def settled(h: Harness, *, within: float = 20.0, lookahead: float = 2.0) -> None:
    """Return once the bot is quiet (see the module docstring) two rounds in a row; fail
    after `within` seconds, saying what was still pending."""
    deadline = time.monotonic() + within
    quiet = 0
    while True:
        pending = await still_pending(h, lookahead=lookahead)
        quiet = 0 if pending else quiet + 1
        if quiet >= QUIET_ROUNDS:
            return
        if pending and time.monotonic() > deadline:
            raise AssertionError(
                f"the bot did not settle within {within}s; still pending: " + "; ".join(pending)
            )
        await asyncio.sleep(POLL_SECONDS)


async def still_pending(h: Harness, *, lookahead: float = 0.0) -> list[str]:
    """What the bot is still doing or owes, in words (empty: quiet). Drives the ticks once."""
    found: list[str] = []
    apps = [app for _, app in h.replicas] or [h.app]
    for index, app in enumerate(apps):
        if count := app[LISTENERS].count:
            found.append(f"replica {index}: {count} listener(s) still running after the ack")
    services: Services = h.app[SERVICES]
    if found:  # the ticks run once what the test did is done, not in the middle of it
        return found
    if fired := await clock_tick(services):
        found.append(f"escalation clock: {fired} due step(s) handled just now")
    now = services.clock.now()
    for job in ALERT_JOBS:
        if done := await job(services, now):
            found.append(f"alert tick: {job.__name__} handled {done} just now")
    speed = speed_of(services.clock)
    due_by = now + timedelta(seconds=lookahead * speed) if speed else now
    found += await _outbox_owed(services, due_by)
    return found


async def _outbox_owed(services: Services, due_by: datetime) -> list[str]:
    row = OutboxMessage
    async with services.db.read() as session:
        result = await session.execute(
            select(row.state, row.method, func.count(), func.min(row.last_error))
            .where(and_(row.state.in_(IN_FLIGHT), row.not_before <= due_by))
            .group_by(row.state, row.method)
            .order_by(row.state, row.method)
        )
        owed = result.all()
    return [
        f"outbox: {count} {method} row(s) {state}" + (f" (last error: {error})" if error else "")
        for state, method, count, error in owed
    ]
