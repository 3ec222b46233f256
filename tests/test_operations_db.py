"""Pending operations: each move happens once, on both dialects, even when people race."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine, is_sqlite, session_factory
from bot.db.models import AuditRecord, PendingOperation
from bot.db.operation_records import (
    MOVES,
    AuditEntry,
    audit,
    create_operation,
    expire_operations,
    load_operation,
    move_operation,
)

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
TTL = timedelta(minutes=5)


async def new_operation(
    engine: AsyncEngine, *, needs_second: bool = False, state: str = "pending"
) -> PendingOperation:
    async with session_factory(engine)() as session, session.begin():
        operation = await create_operation(
            session,
            command="pause-campaign",
            args={"campaign": "spring-sale"},
            summary="Pause campaign spring-sale: no more sends until resumed.",
            requester="U0REQ",
            channel_id="C0OPS",
            incident_id=None,
            needs_second=needs_second,
            now=T0,
            ttl=TTL,
        )
        if state != "pending":
            await session.execute(
                update(PendingOperation)
                .where(PendingOperation.id == operation.id)
                .values(state=state)
            )
            operation.state = state
    return operation


async def fetch(engine: AsyncEngine, token: str) -> PendingOperation | None:
    async with session_factory(engine)() as session:
        return await load_operation(session, token)


async def move(
    engine: AsyncEngine,
    token: str,
    to_state: str,
    now: datetime = T0,
    *,
    actor: str | None = None,
    result: dict[str, object] | None = None,
    error: str | None = None,
) -> PendingOperation | None:
    async with session_factory(engine)() as session, session.begin():
        return await move_operation(
            session, token, to_state, now, actor=actor, result=result, error=error
        )


async def test_create_and_load(engine: AsyncEngine) -> None:
    created = await new_operation(engine)
    loaded = await fetch(engine, created.token)
    assert loaded is not None and loaded.id == created.id
    assert len(loaded.token) == 22
    assert loaded.idempotency_key == f"warroom-op-{loaded.token}"
    assert loaded.state == "pending" and loaded.attempts == 0 and loaded.approver is None
    assert loaded.args == {"campaign": "spring-sale"}
    assert loaded.created_at == T0 and loaded.expires_at == T0 + TTL
    assert loaded.result is None and loaded.error is None and loaded.needs_second is False
    assert await fetch(engine, "no-such-token") is None


async def test_every_allowed_move_and_every_refused_one(engine: AsyncEngine) -> None:
    later = T0 + timedelta(seconds=30)
    targets = sorted({to for tos in MOVES.values() for to in tos})
    for from_state in MOVES:
        for to_state in targets:
            operation = await new_operation(engine, state=from_state)
            moved = await move(engine, operation.token, to_state, later)
            row = await fetch(engine, operation.token)
            assert row is not None
            if to_state in MOVES[from_state]:
                assert moved is not None, (from_state, to_state)
                assert moved.state == row.state == to_state
                assert row.updated_at == later
            else:
                assert moved is None, (from_state, to_state)
                assert row.state == from_state and row.updated_at == T0
                assert row.attempts == 0


async def test_unknown_target_state_is_an_error(engine: AsyncEngine) -> None:
    operation = await new_operation(engine)
    for to_state in ("launched", "pending"):
        with pytest.raises(ValueError):
            await move(engine, operation.token, to_state)


async def test_unknown_token_moves_nothing(engine: AsyncEngine) -> None:
    assert await move(engine, "no-such-token", "running") is None


async def test_expiry_blocks_confirming_and_approving(engine: AsyncEngine) -> None:
    late = T0 + TTL
    pending = await new_operation(engine)
    assert await move(engine, pending.token, "running", late) is None
    assert await move(engine, pending.token, "awaiting_approval", late) is None
    awaiting = await new_operation(engine, needs_second=True, state="awaiting_approval")
    assert await move(engine, awaiting.token, "running", late, actor="U0TWO") is None
    for operation in (pending, awaiting):
        row = await fetch(engine, operation.token)
        assert row is not None and row.attempts == 0 and row.approver is None
        assert row.state == operation.state
    # Cancelling or expiring a late one is still fine; so is retrying a failed run.
    assert await move(engine, pending.token, "cancelled", late) is not None
    assert await move(engine, awaiting.token, "expired", late) is not None
    failed = await new_operation(engine, state="failed")
    assert await move(engine, failed.token, "running", late + TTL) is not None


async def test_needing_a_second_person_means_no_running_before_approval(
    engine: AsyncEngine,
) -> None:
    operation = await new_operation(engine, needs_second=True)
    assert await move(engine, operation.token, "running", actor="U0REQ") is None
    asked = await move(engine, operation.token, "awaiting_approval", actor="U0REQ")
    assert asked is not None and asked.approver is None
    approved = await move(engine, operation.token, "running", actor="U0TWO")
    assert approved is not None and approved.approver == "U0TWO" and approved.attempts == 1


async def test_confirming_alone_records_no_approver(engine: AsyncEngine) -> None:
    operation = await new_operation(engine)
    moved = await move(engine, operation.token, "running", actor="U0REQ")
    assert moved is not None and moved.approver is None and moved.attempts == 1


async def test_attempts_counted_and_retry_keeps_the_idempotency_key(engine: AsyncEngine) -> None:
    operation = await new_operation(engine)
    first = await move(engine, operation.token, "running")
    assert first is not None and first.attempts == 1
    failed = await move(engine, operation.token, "failed", error="backend said 503")
    assert failed is not None and failed.error == "backend said 503"
    retry = await move(engine, operation.token, "running", T0 + timedelta(hours=1))
    assert retry is not None and retry.attempts == 2
    assert retry.idempotency_key == operation.idempotency_key == first.idempotency_key
    done = await move(engine, operation.token, "done", result={"paused": True, "sends": 0})
    assert done is not None and done.result == {"paused": True, "sends": 0}
    row = await fetch(engine, operation.token)
    assert row is not None and row.state == "done" and row.attempts == 2
    assert row.idempotency_key == f"warroom-op-{operation.token}"


async def test_move_refreshes_a_row_the_session_already_holds(engine: AsyncEngine) -> None:
    operation = await new_operation(engine)
    async with session_factory(engine)() as session, session.begin():
        held = await load_operation(session, operation.token)
        assert held is not None and held.state == "pending"
        moved = await move_operation(session, operation.token, "running", T0)
        assert moved is held and held.state == "running" and held.attempts == 1


async def test_racing_confirmations_make_one_winner(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(5)]
    try:
        operation = await new_operation(engines[0])
        racers = [move(e, operation.token, "running", actor=f"U{i}") for i, e in enumerate(engines)]
        if is_sqlite(database_url):
            outcomes = [await racer for racer in racers]
        else:
            outcomes = list(await asyncio.gather(*racers))
        winners = [o for o in outcomes if o is not None]
        assert len(winners) == 1
        row = await fetch(engines[0], operation.token)
        assert row is not None and row.state == "running" and row.attempts == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_expire_operations(engine: AsyncEngine) -> None:
    late = T0 + TTL
    stale = [
        await new_operation(engine),
        await new_operation(engine, needs_second=True, state="awaiting_approval"),
    ]
    kept = [await new_operation(engine, state=s) for s in ("running", "failed", "done")]
    async with session_factory(engine)() as session, session.begin():
        fresh = await create_operation(
            session,
            command="resume-campaign",
            args={},
            summary="Resume.",
            requester="U0REQ",
            channel_id="C0OPS",
            incident_id=None,
            needs_second=False,
            now=late - timedelta(seconds=1),
            ttl=TTL,
        )
    async with session_factory(engine)() as session, session.begin():
        assert await expire_operations(session, late) == 2
    for operation in stale:
        row = await fetch(engine, operation.token)
        assert row is not None and row.state == "expired" and row.updated_at == late
    for operation in [*kept, fresh]:
        row = await fetch(engine, operation.token)
        assert row is not None and row.state == operation.state
    async with session_factory(engine)() as session, session.begin():
        assert await expire_operations(session, late) == 0


async def test_audit_rows_round_trip_with_truncation(engine: AsyncEngine) -> None:
    operation = await new_operation(engine)
    entries = [
        AuditEntry(
            at=T0,
            actor="U0REQ",
            command="pause-campaign",
            args="spring-sale",
            decision="confirm_asked",
            outcome="asked U0REQ to confirm",
            channel_id="C0OPS",
            operation_id=operation.id,
        ),
        AuditEntry(
            at=T0 + timedelta(seconds=3),
            actor="U0REQ",
            command="replay-deadletter",
            args="x" * 2000,
            decision="ran",
            outcome="y" * 2000,
            channel_id="C0OPS",
            operation_id=operation.id,
            backend_request="POST /queues/dlq/replay",
            status=202,
            duration_ms=41,
        ),
    ]
    async with session_factory(engine)() as session, session.begin():
        for entry in entries:
            await audit(session, entry)
    async with session_factory(engine)() as session:
        rows = (await session.execute(select(AuditRecord).order_by(AuditRecord.id))).scalars()
        first, second = rows.all()
    assert (first.at, first.decision, first.args, first.outcome) == (
        T0,
        "confirm_asked",
        "spring-sale",
        "asked U0REQ to confirm",
    )
    assert first.operation_id == operation.id and first.channel_id == "C0OPS"
    assert first.status is None and first.backend_request is None and first.incident_id is None
    assert len(second.args) == 500 and second.args.startswith("xxx")
    assert len(second.outcome) == 500 and second.outcome.startswith("yyy")
    assert (second.backend_request, second.status, second.duration_ms) == (
        "POST /queues/dlq/replay",
        202,
        41,
    )
    with pytest.raises(ValueError):
        async with session_factory(engine)() as session:
            await audit(session, replace(entries[0], decision="launched"))


async def test_tokens_are_unique(engine: AsyncEngine) -> None:
    operation = await new_operation(engine)
    other = await new_operation(engine)
    assert other.token != operation.token
    with pytest.raises(IntegrityError):
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(PendingOperation)
                .where(PendingOperation.id == other.id)
                .values(token=operation.token)
            )
