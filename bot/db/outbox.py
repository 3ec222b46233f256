"""The outbox table: Slack calls the bot owes, queued in the state change's transaction.

Rows with the same `ordering_key` (one channel, or one war room being built) go out in id
order: a row is claimable only when no earlier row of its key is pending or in flight.
Claims use `FOR UPDATE SKIP LOCKED`, so several replicas share the work without taking the
same row; a claim is a lease, and a row whose lease ran out (its sender died) is claimed again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.engine import dialect_insert
from bot.db.models import OutboxMessage
from bot.db.unit_of_work import note_queued

IN_FLIGHT = ("pending", "sending")


@dataclass(frozen=True)
class Job:
    """A claimed row, detached from its session."""

    id: int
    method: str
    payload: dict[str, Any]
    ordering_key: str
    incident_id: int | None
    attempts: int


async def enqueue(
    session: AsyncSession,
    *,
    method: str,
    payload: dict[str, Any],
    ordering_key: str,
    now: datetime,
    incident_id: int | None = None,
    not_before: datetime | None = None,
    dedup_key: str | None = None,
    replace: bool = False,
) -> None:
    """Queue one call. With `dedup_key`, a pending row with the same key absorbs this one
    (debounce); `replace=True` makes this payload win over the pending row's."""
    values = {
        "created_at": now,
        "ordering_key": ordering_key,
        "method": method,
        "payload": payload,
        "incident_id": incident_id,
        "state": "pending",
        "attempts": 0,
        "not_before": not_before or now,
        "dedup_key": dedup_key,
    }
    # Core inserts, run at once in call order: ids (and so send order) follow the calls.
    mode = "plain" if dedup_key is None else "replace" if replace else "keep"
    await session.execute(_insert(session.get_bind().dialect.name, mode), values)
    note_queued(session)


@functools.cache
def _insert(dialect: str, mode: str) -> Any:
    """Built once per dialect and mode (compiled once); the row goes in as parameters."""
    insert = dialect_insert(dialect)
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]
    statement = insert(table)
    if mode == "replace":
        return statement.on_conflict_do_update(
            index_elements=["dedup_key"], set_={"payload": statement.excluded.payload}
        )
    if mode == "keep":
        return statement.on_conflict_do_nothing(index_elements=["dedup_key"])
    return statement


def _claimable(now: datetime) -> Any:
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        earlier.ordering_key == OutboxMessage.ordering_key,
        earlier.id < OutboxMessage.id,
        earlier.state.in_(IN_FLIGHT),
    )
    due = or_(
        and_(OutboxMessage.state == "pending", OutboxMessage.not_before <= now),
        and_(OutboxMessage.state == "sending", OutboxMessage.claimed_until < now),
    )
    return and_(due, ~blocked)


async def claim(
    session: AsyncSession, worker: str, now: datetime, *, lease: timedelta, limit: int
) -> list[Job]:
    """Take up to `limit` rows, at most one per ordering key, and lease them to `worker`.
    The debounce key is released at claim: later changes queue a fresh row."""
    rows = (
        (
            await session.execute(
                select(OutboxMessage)
                .where(_claimable(now))
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
        )
        .scalars()
        .all()
    )
    jobs = []
    for row in rows:
        row.state = "sending"
        row.claimed_by = worker
        row.claimed_until = now + lease
        row.attempts += 1
        row.dedup_key = None
        jobs.append(
            Job(
                row.id,
                row.method,
                dict(row.payload),
                row.ordering_key,
                row.incident_id,
                row.attempts,
            )
        )
    return jobs


async def mark_sent(
    session: AsyncSession, job_id: int, now: datetime, result: dict[str, Any] | None
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == job_id)
        .values(state="sent", sent_at=now, result=result, claimed_until=None, last_error=None)
    )


async def mark_retry(
    session: AsyncSession, job_id: int, not_before: datetime, error: str, *, counted: bool = True
) -> None:
    """Back to pending until `not_before`. A pacing delay (`counted=False`) is no attempt."""
    values: dict[str, Any] = {
        "state": "pending",
        "not_before": not_before,
        "last_error": error,
        "claimed_until": None,
    }
    if not counted:
        values["attempts"] = OutboxMessage.attempts - 1
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == job_id).values(values))


async def still_claimed(session: AsyncSession, job_id: int, worker: str) -> bool:
    """`worker` still holds this row (its lease has not gone to another worker)."""
    found = await session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.id == job_id,
            OutboxMessage.state == "sending",
            OutboxMessage.claimed_by == worker,
        )
    )
    return found is not None


async def end_leases(session: AsyncSession, worker: str, until: dict[int, datetime]) -> None:
    """`worker` lost track of these rows (the database went away while they were being
    sent): they become claimable again at the given times, as if their lease had run out,
    unless another worker has claimed them since."""
    for job_id, when in until.items():
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == job_id,
                OutboxMessage.state == "sending",
                OutboxMessage.claimed_by == worker,
            )
            .values(claimed_until=when)
        )


async def mark_failed(session: AsyncSession, job_id: int, now: datetime, error: str) -> None:
    """Slack refused the call for good (e.g. `invalid_blocks`): kept, visible, not retried."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == job_id)
        .values(state="failed", sent_at=now, last_error=error, claimed_until=None)
    )


async def backlog(session: AsyncSession) -> dict[str, int]:
    """Rows per state (for /metrics and tests)."""
    result = await session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    )
    return {str(state): int(count) for state, count in result.all()}


async def prune_sent(session: AsyncSession, before: datetime) -> int:
    """Forget rows sent before `before` (failed rows stay for people to look at)."""
    result = await session.execute(
        delete(OutboxMessage).where(OutboxMessage.state == "sent", OutboxMessage.sent_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def was_queued(session: AsyncSession, incident_id: int, method: str) -> bool:
    """A `method` call was ever queued for the incident (in whatever state it is now)."""
    found = await session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.incident_id == incident_id, OutboxMessage.method == method
        )
    )
    return found is not None


async def due_for_incident(session: AsyncSession, incident_id: int, now: datetime) -> int:
    """How many of the incident's rows are still to be sent (pending or sending) and due by
    `now`."""
    found = await session.scalar(
        select(func.count()).where(
            OutboxMessage.incident_id == incident_id,
            OutboxMessage.state.in_(IN_FLIGHT),
            OutboxMessage.not_before <= now,
        )
    )
    return int(found or 0)
