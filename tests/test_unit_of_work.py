"""The unit of work: one transaction per `begin()`, and the outbox rung only after a commit
that queued rows — never for a rollback, never for a transaction that queued nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import read_session_factory, session_factory
from bot.db.models import Incident, OutboxMessage
from bot.db.outbox import enqueue
from bot.db.unit_of_work import Doorbell, UnitOfWork

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class CountingDoorbell(Doorbell):
    def __init__(self) -> None:
        super().__init__()
        self.rings = 0

    def ring(self) -> None:
        self.rings += 1
        super().ring()


def unit_of_work(engine: AsyncEngine) -> tuple[UnitOfWork, CountingDoorbell]:
    bell = CountingDoorbell()
    uow = UnitOfWork(session_factory(engine), reads=read_session_factory(engine), doorbell=bell)
    return uow, bell


async def queue_post(uow: UnitOfWork, text: str) -> None:
    async with uow.begin() as session:
        await enqueue(
            session,
            method="chat.postMessage",
            payload={"channel": "C1", "text": text},
            ordering_key="channel:C1",
            now=T0,
        )


async def outbox_rows(uow: UnitOfWork) -> int:
    async with uow.read() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_a_commit_that_queued_rows_rings_once(engine: AsyncEngine) -> None:
    uow, bell = unit_of_work(engine)
    async with uow.begin() as session:
        for n in range(3):
            await enqueue(
                session,
                method="chat.postMessage",
                payload={"channel": "C1", "text": f"post {n}"},
                ordering_key="channel:C1",
                now=T0,
            )
        assert bell.rings == 0  # not before the commit: the worker would find nothing
    assert bell.rings == 1
    assert await outbox_rows(uow) == 3


async def test_a_rollback_neither_keeps_the_rows_nor_rings(engine: AsyncEngine) -> None:
    uow, bell = unit_of_work(engine)
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with uow.begin() as session:
            await enqueue(
                session,
                method="chat.postMessage",
                payload={"channel": "C1", "text": "never sent"},
                ordering_key="channel:C1",
                now=T0,
            )
            raise RuntimeError("changed my mind")
    assert bell.rings == 0
    assert await outbox_rows(uow) == 0


async def test_a_transaction_that_queued_nothing_does_not_ring(engine: AsyncEngine) -> None:
    uow, bell = unit_of_work(engine)
    async with uow.begin() as session:
        session.add(
            Incident(
                title="quiet",
                severity="warning",
                state="triggered",
                created_at=T0,
                updated_at=T0,
                group_key="test:quiet",
            )
        )
    assert bell.rings == 0
    await queue_post(uow, "then one post")
    assert bell.rings == 1  # the count does not carry over from one transaction to the next
    await queue_post(uow, "and another")
    assert bell.rings == 2


async def test_reading_rings_nothing_and_sees_committed_rows(engine: AsyncEngine) -> None:
    uow, bell = unit_of_work(engine)
    await queue_post(uow, "one")
    async with uow.read() as session:
        found = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert found == 1
    assert bell.rings == 1
