"""The unit of work: one transaction, and the outbox rung once it has committed.

Flows never open sessions themselves. `begin()` is one read-write transaction that commits on
a clean exit and rolls back on an error; every outbox row queued in it (`bot.db.outbox.enqueue`)
is remembered on the session, and once the commit went through the outbox worker's doorbell
rings, so the worker looks at once instead of at its next idle poll. `read()` is a read-only
transaction for polls and waits: on SQLite it never holds the write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

QUEUED = "warroom.outbox_queued"  # session.info key: rows queued in this transaction


class Doorbell:
    """Rung after a commit that queued outbox rows, so the worker looks at once."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()


def note_queued(session: AsyncSession, count: int = 1) -> None:
    """Called by `enqueue`: this transaction owes the outbox worker a ring on commit."""
    session.info[QUEUED] = session.info.get(QUEUED, 0) + count


class UnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        *,
        reads: async_sessionmaker[Any] | None = None,
        doorbell: Doorbell | None = None,
    ) -> None:
        self.sessions = sessions  # for streaming readers that open their own (exports)
        self._reads = reads or sessions
        self.doorbell = doorbell or Doorbell()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session
            queued = session.info.pop(QUEUED, 0)
        if queued:  # only reached once the commit went through
            self.doorbell.ring()

    def wake_outbox(self) -> None:
        """Have the worker look now (at a stop, or for rows that came due without a commit)."""
        self.doorbell.ring()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reads.begin() as session:
            yield session
