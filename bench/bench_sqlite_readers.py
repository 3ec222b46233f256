"""Writes on SQLite while pollers read: read-only sessions (deferred BEGIN) against the same
polls taking the write lock (BEGIN IMMEDIATE, as every session did before).

A migrated SQLite file in WAL mode; 4 pollers each read in a loop: a count of `incidents`,
a 2 ms await inside the transaction (as any await there lets the loop run other tasks while
the transaction stays open), the newest row, then 10 ms of sleep — what a drill's player,
`wait_for_room` and the drill CLI's drain do. Meanwhile one writer inserts 300 incidents one
transaction at a time, and each write's latency is timed (from `begin()` to its commit).
The same run measures three cases in turn on fresh files: no pollers (the floor), pollers
on `read_session_factory`, and pollers on `session_factory`. The reference is the floor;
the aim is the read-only pollers within 2x of it at p99, where the write-lock pollers make
writers queue behind them.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.figures import Figure, percentile
from bot.db.engine import create_engine, read_session_factory, session_factory
from bot.db.migrate import upgrade_to_head
from bot.db.models import Incident

WRITES = 300
POLLERS = 4
POLL_SLEEP = 0.01
IN_TRANSACTION = 0.002
T0 = datetime(2026, 11, 24, 3, 12, tzinfo=UTC)


async def _case(folder: Path, name: str, pollers: str | None) -> list[float]:
    url = f"sqlite+aiosqlite:///{folder / f'{name}.db'}"
    engine = create_engine(url)
    await upgrade_to_head(engine)
    writes, stop = session_factory(engine), asyncio.Event()
    reads = read_session_factory(engine) if pollers == "read" else session_factory(engine)

    async def poll() -> int:
        polls = 0
        while not stop.is_set():
            async with reads.begin() as session:
                await session.scalar(select(func.count()).select_from(Incident))
                await asyncio.sleep(IN_TRANSACTION)
                await session.scalar(select(Incident.id).order_by(Incident.id.desc()).limit(1))
            polls += 1
            await asyncio.sleep(POLL_SLEEP)
        return polls

    tasks = [asyncio.create_task(poll()) for _ in range(POLLERS if pollers else 0)]
    await asyncio.sleep(0.2)  # the pollers under way
    latencies: list[float] = []
    try:
        for n in range(WRITES):
            started = time.perf_counter()
            async with writes.begin() as session:
                session.add(_incident(n))
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        stop.set()
        polled: list[Any] = await asyncio.gather(*tasks)
        await engine.dispose()
    print(f"    {name}: {sum(polled)} polls during {WRITES} writes")
    return latencies


def _incident(n: int) -> Incident:
    return Incident(
        title=f"bench {n}", severity="warning", state="triggered", created_at=T0, updated_at=T0
    )


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = await _case(folder, "floor", None)
        deferred = await _case(folder, "read-only", "read")
        immediate = await _case(folder, "write-lock", "write")
    figures = []
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        aim = " (aim <= 2x)" if label == "p99" else ""
        reference = percentile(floor, q)
        figures.append(
            Figure(
                f"write {label}, 4 read-only pollers{aim}",
                percentile(deferred, q),
                "ms",
                f"write {label}, no pollers",
                reference,
            )
        )
        figures.append(
            Figure(
                f"write {label}, 4 pollers taking the write lock",
                percentile(immediate, q),
                "ms",
                f"write {label}, no pollers",
                reference,
            )
        )
    return figures
