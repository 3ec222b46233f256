"""The engine's transactions: on SQLite writers queue for the write lock; readers never
hold it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import read_session_factory, session_factory
from bot.db.models import Incident

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def new_incident(title: str) -> Incident:
    return Incident(
        title=title,
        severity="critical",
        state="triggered",
        created_at=T0,
        updated_at=T0,
        group_key=f"test:{title}",
    )


async def count(engine: AsyncEngine) -> int:
    async with read_session_factory(engine).begin() as session:
        return int(await session.scalar(select(func.count()).select_from(Incident)) or 0)


async def test_a_reader_in_its_transaction_does_not_hold_back_a_writer(engine: AsyncEngine) -> None:
    reads, writes = read_session_factory(engine), session_factory(engine)
    async with reads.begin() as reader:
        before = await reader.scalar(select(func.count()).select_from(Incident))
        # A writer that had to wait for this open transaction would time out here.
        async with asyncio.timeout(5), writes.begin() as writer:
            writer.add(new_incident("written while a reader is open"))
        assert before == 0
    assert await count(engine) == 1


async def test_writers_wait_their_turn_while_readers_poll(engine: AsyncEngine) -> None:
    stop = asyncio.Event()

    async def poll() -> int:
        polls = 0
        while not stop.is_set():
            await count(engine)
            polls += 1
        return polls

    pollers = [asyncio.create_task(poll()) for _ in range(3)]
    try:

        async def write(n: int) -> None:
            async with session_factory(engine).begin() as session:
                session.add(new_incident(f"incident {n}"))

        async with asyncio.timeout(20):
            await asyncio.gather(*(write(n) for n in range(20)))
    finally:
        stop.set()
        polled = await asyncio.gather(*pollers)
    assert await count(engine) == 20
    assert all(polled)


async def test_every_write_session_begins_immediate_on_sqlite(engine: AsyncEngine) -> None:
    """Two writers that both read first: with a deferred BEGIN the second's upgrade to the
    write lock fails at once (`database is locked`); BEGIN IMMEDIATE makes it wait."""
    writes = session_factory(engine)
    async with writes.begin() as session:
        session.add(new_incident("first"))

    async def read_then_write(title: str) -> None:
        async with writes.begin() as session:
            await session.scalar(select(func.count()).select_from(Incident))
            await asyncio.sleep(0.05)
            session.add(new_incident(title))

    await asyncio.gather(read_then_write("a"), read_then_write("b"))
    assert await count(engine) == 3
