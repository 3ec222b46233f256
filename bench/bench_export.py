"""Timeline export of 100,000 events: time and peak memory per format against a plain SELECT.

A fresh PostgreSQL database gets three incidents, inserted directly (Core executemany in
chunks of 5,000): one with 100,000 timeline events, one with 10,000 and a small one with 200
that only warms up (templates compiled, statements cached, pool connected) before anything
is measured. The events are a realistic mix — alerts firing and resolving with their labels,
Slack messages, commands, notes, backend calls, role changes — each incident with the same 12
status updates and 3 clock breaches (the export's header reads those up front, so they are
kept the same at both sizes), occurred_at increasing by 1-4 s, then ANALYZE.

For each size and each format (md, json, csv, html), `export_chunks` runs to nowhere: its
bytes are counted and dropped. Time and peak memory are taken in separate runs, since
tracemalloc slows Python code down several times: the time of one untraced run (after a
full garbage collection), then the peak of one traced run (tracemalloc started just before
and stopped just after, so only what the run allocates counts). The reference, measured in
the same run for the same incident the same two ways, streams the same rows — the export's
columns, its WHERE and its ORDER BY — with one plain SELECT to nowhere, row by row
(`conn.stream`, a server-side cursor); its time is the faster of one run before and one
after that size's exports (other work on the machine adds noise). Also timed against it, to
tell where the time goes: the same SELECT fetched with `yield_per=1000` (the floor of
reading these rows through SQLAlchemy) and the export's own read alone (`timeline_events`:
keyset pages of 500, each its own transaction). The load average is printed: other work on
a small machine slows some runs more than others.

Aim: each format's time at 100k <= 3x the row-by-row SELECT's; peak memory flat, i.e. the
peak at 100k about that at 10k (the 10k peak is the reference for that ratio; "about" is
taken as <= 1.5x, the rows growing 10x).
"""

from __future__ import annotations

import gc
import os
import random
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Select, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bench.figures import Figure
from bench.support import pg_database, tally_logs
from bot.config.settings import Settings
from bot.core.timeline import EventKind
from bot.db.engine import create_engine, session_factory
from bot.db.models import Incident, TimelineEvent
from bot.exports import export_chunks
from bot.exports.loading import EVENT_COLUMNS, timeline_events

SIZES = (10_000, 100_000)
WARM_UP = 200
CHUNK = 5_000
FORMATS = ("md", "json", "csv", "html")
STATUS_UPDATES = 12
CLOCK_BREACHES = 3
AIM_TIME_RATIO = 3.0
AIM_MEMORY_RATIO = 1.5  # "about flat": well under the 10x the rows grow by
MIB = 1024 * 1024
T0 = datetime(2026, 3, 2, 3, 12, 5, tzinfo=UTC)
SERVICES = ("whatsapp-sender", "portal-chat", "billing-api", "queue-router", "sms-gateway")
PEOPLE = ("U0ONCALL", "U0LEAD42", "U0SRE007", "U0COMMS1", None)


# --- the data ----------------------------------------------------------------------------


def _event(rng: random.Random, incident_id: int, i: int, at: datetime) -> dict[str, Any]:
    """One timeline event row; `i` picks its kind, `rng` its details."""
    service = SERVICES[i % len(SERVICES)]
    worker = rng.randrange(64)
    actor = PEOPLE[rng.randrange(len(PEOPLE))]
    roll = i % 20
    kind: str
    data: dict[str, Any]
    if roll < 7:
        kind, source, actor = EventKind.ALERT_FIRED.value, "alertmanager", None
        fingerprint = f"{rng.getrandbits(64):016x}"
        text_ = f"{service}: error rate above threshold (critical) on worker-{worker}"
        data = {
            "fingerprint": fingerprint,
            "labels": {
                "alertname": "HighErrorRate",
                "service": service,
                "severity": "critical",
                "instance": f"worker-{worker}",
            },
            "runbook_url": "https://runbooks.example.com/queues#backlog-critical",
        }
    elif roll < 11:
        kind, source, actor = EventKind.ALERT_RESOLVED.value, "alertmanager", None
        text_ = f"{service}: error rate back to normal on worker-{worker}"
        data = {"fingerprint": f"{rng.getrandbits(64):016x}", "after_seconds": rng.randrange(9999)}
    elif roll < 15:
        kind, source = EventKind.MESSAGE_POSTED.value, "slack"
        text_ = (
            f"Looking at {service} now — queue depth {rng.randrange(20_000)}, "
            f"p99 {rng.randrange(50, 4000)} ms | restarting worker-{worker}? *not yet*"
        )
        data = {"ts": f"{1772421125 + i}.{rng.randrange(999999):06d}", "channel": "C0WARROOM1"}
    elif roll < 17:
        kind, source = EventKind.COMMAND.value, "slack"
        text_ = f"/incident note drained {service} backlog from {rng.randrange(9000)} to 0"
        data = {"command": "/incident", "args": ["note"], "decision": "allowed"}
    elif roll < 18:
        kind, source = EventKind.NOTE.value, "slack"
        text_ = f"Failover to PORTAL chat done for {service}; ünïcødé ✓ <b>bold</b> & =cmd"
        data = {}
    elif roll < 19:
        kind, source = EventKind.BACKEND_CALL.value, "bot"
        text_ = f"POST /queues/{service}/replay -> 202 in {rng.randrange(20, 900)} ms"
        data = {"method": "POST", "status": 202, "path": f"/queues/{service}/replay"}
    else:
        kind, source = EventKind.ROLE_ASSIGNED.value, "slack"
        text_ = f"<@{actor or 'U0ONCALL'}> is now Incident Commander"
        data = {"role": "commander", "user": actor or "U0ONCALL"}
    return {
        "incident_id": incident_id,
        "occurred_at": at,
        "recorded_at": at + timedelta(milliseconds=rng.randrange(5, 400)),
        "kind": kind,
        "actor": actor,
        "source": source,
        "text": text_,
        "data": data,
        "dedup_key": None,
    }


def _special(incident_id: int, i: int, at: datetime) -> dict[str, Any] | None:
    """The few status updates and clock breaches (the export's header lists them)."""
    if i % 997 == 5 and i // 997 < STATUS_UPDATES:
        kind, text_ = EventKind.STATUS_UPDATE.value, f"Update {i // 997 + 1}: sends recovering"
    elif i % 3001 == 11 and i // 3001 < CLOCK_BREACHES:
        kind, text_ = EventKind.CLOCK_BREACH.value, "ack overdue by 1m"
    else:
        return None
    return {
        "incident_id": incident_id,
        "occurred_at": at,
        "recorded_at": at,
        "kind": kind,
        "actor": "U0COMMS1" if kind == EventKind.STATUS_UPDATE.value else None,
        "source": "slack" if kind == EventKind.STATUS_UPDATE.value else "bot",
        "text": text_,
        "data": {"by": "bench"},
        "dedup_key": None,
    }


async def _insert_incident(engine: AsyncEngine, events: int, seed: int) -> int:
    rng = random.Random(seed)
    async with engine.begin() as conn:
        incident_id = await conn.scalar(
            insert(Incident)
            .values(
                title=f"WhatsApp sends failing ({events:,} timeline events)",
                severity="critical",
                state="resolved",
                channel_id="C0WARROOM1",
                channel_name=f"inc-20260302-{seed}-whatsapp",
                declared_by="U0ONCALL",
                created_at=T0,
                acknowledged_at=T0 + timedelta(minutes=3),
                acknowledged_by="U0ONCALL",
                mitigated_at=T0 + timedelta(hours=5),
                mitigated_by="U0LEAD42",
                resolved_at=T0 + timedelta(hours=9),
                resolved_by="U0LEAD42",
                resolution="Rolled back the sender; queue drained.",
                updated_at=T0 + timedelta(hours=9),
                group_key=f"bench-export-{seed}",
            )
            .returning(Incident.id)
        )
        assert incident_id is not None
        at = T0
        rows: list[dict[str, Any]] = []
        for i in range(events):
            at += timedelta(seconds=rng.randrange(1, 5))
            rows.append(_special(incident_id, i, at) or _event(rng, incident_id, i, at))
            if len(rows) == CHUNK:
                await conn.execute(insert(TimelineEvent), rows)
                rows = []
        if rows:
            await conn.execute(insert(TimelineEvent), rows)
    return int(incident_id)


# --- measuring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak: int | None  # bytes, tracemalloc's peak over the traced run (None: not traced)
    out: int  # what the run produced: bytes written, or rows read


async def _measure(work: Callable[[], Awaitable[int]], *, traced: bool = True) -> Measure:
    """One untraced run for the time, then (if `traced`) one traced run for the peak."""
    gc.collect()
    started = time.perf_counter()
    out = await work()
    seconds = time.perf_counter() - started
    if not traced:
        return Measure(seconds, None, out)
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        traced_out = await work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert traced_out == out, (traced_out, out)
    return Measure(seconds, peak, out)


async def _drain(chunks: AsyncIterator[bytes]) -> int:
    written = 0
    async for chunk in chunks:
        written += len(chunk)
    return written


async def _export(
    sessions: async_sessionmaker[Any], incident_id: int, fmt: str, settings: Settings
) -> int:
    """One export to nowhere: the bytes it wrote."""
    return await _drain(export_chunks(sessions, incident_id, fmt, settings))


def _same_rows(incident_id: int) -> Select[Any]:
    """The export's columns, WHERE and ORDER BY, in one plain SELECT."""
    return (
        select(*EVENT_COLUMNS)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
    )


async def _select(engine: AsyncEngine, incident_id: int) -> int:
    """The reference: the same rows streamed to nowhere, row by row (`conn.stream`)."""
    rows = 0
    async with engine.connect() as conn:
        result = await conn.stream(_same_rows(incident_id))
        async for _row in result:
            rows += 1
    return rows


async def _select_yield_per(engine: AsyncEngine, incident_id: int) -> int:
    """The same, fetched 1,000 rows at a time (`yield_per`): the floor of reading them."""
    rows = 0
    async with engine.connect() as conn:
        result = await conn.stream(_same_rows(incident_id).execution_options(yield_per=1000))
        async for partition in result.partitions():
            rows += len(partition)
    return rows


async def _paged(sessions: async_sessionmaker[Any], incident_id: int) -> int:
    """The export's read alone: `timeline_events`, keyset pages of 500."""
    rows = 0
    async for _event in timeline_events(sessions, incident_id):
        rows += 1
    return rows


def _ms(m: Measure) -> float:
    return m.seconds * 1000


def _mib(n: int | None) -> float:
    return (n or 0) / MIB


# --- the run -----------------------------------------------------------------------------


@dataclass
class Sized:
    """Everything measured for one incident."""

    select: Measure  # row by row; its time is the faster of two runs (before, after)
    yield_per: Measure
    paged: Measure
    exports: dict[str, Measure]


async def _run_size(
    engine: AsyncEngine,
    sessions: async_sessionmaker[Any],
    incident_id: int,
    size: int,
    settings: Settings,
) -> Sized:
    before = await _measure(partial(_select, engine, incident_id))
    assert before.out == size, (before.out, size)
    yield_per = await _measure(partial(_select_yield_per, engine, incident_id), traced=False)
    paged = await _measure(partial(_paged, sessions, incident_id), traced=False)
    exports = {
        fmt: await _measure(partial(_export, sessions, incident_id, fmt, settings))
        for fmt in FORMATS
    }
    after = await _measure(partial(_select, engine, incident_id), traced=False)
    select_ = Measure(min(before.seconds, after.seconds), before.peak, before.out)
    ref = select_.seconds
    print(
        f"  {size:>7,} events: SELECT row by row {_ms(before):.0f} / {_ms(after):.0f} ms "
        f"(before / after the exports), peak {_mib(before.peak):.2f} MiB; SELECT yield_per "
        f"{_ms(yield_per):.0f} ms; export's paged read {_ms(paged):.0f} ms "
        f"({paged.seconds / ref:.1f}x)"
    )
    for fmt, m in exports.items():
        print(
            f"  {size:>7,} events {fmt:>4}: {_ms(m):.0f} ms ({m.seconds / ref:.1f}x SELECT row "
            f"by row, {m.seconds / yield_per.seconds:.1f}x SELECT yield_per; "
            f"{size / m.seconds:,.0f} events/s), peak {_mib(m.peak):.2f} MiB, "
            f"{_mib(m.out):.1f} MiB written"
        )
    return Sized(select_, yield_per, paged, exports)


async def run() -> list[Figure]:
    started = time.perf_counter()
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    settings = Settings()
    async with pg_database() as url:
        if url is None:
            return []
        async with tally_logs():
            engine = create_engine(url)
            sessions = session_factory(engine)
            try:
                ids: dict[int, int] = {}
                for seed, size in enumerate((WARM_UP, *SIZES), start=1):
                    ids[size] = await _insert_incident(engine, size, seed)
                async with engine.begin() as conn:
                    await conn.execute(text("ANALYZE timeline_events"))
                print(
                    f"  {sum(SIZES) + WARM_UP:,} events inserted and analyzed in "
                    f"{time.perf_counter() - started:.1f}s; time zone {settings.timezone}"
                )
                for fmt in FORMATS:  # warm-up: templates, statement cache, pool
                    await _export(sessions, ids[WARM_UP], fmt, settings)
                await _select(engine, ids[WARM_UP])
                await _select_yield_per(engine, ids[WARM_UP])
                await _paged(sessions, ids[WARM_UP])
                sized = {
                    size: await _run_size(engine, sessions, ids[size], size, settings)
                    for size in SIZES
                }
            finally:
                await engine.dispose()
    small, big = sized[SIZES[0]], sized[SIZES[-1]]
    missed = [
        fmt
        for fmt in FORMATS
        if big.exports[fmt].seconds > AIM_TIME_RATIO * big.select.seconds
        or (big.exports[fmt].peak or 0) > AIM_MEMORY_RATIO * (small.exports[fmt].peak or 0)
    ]
    print(
        f"  aim: time at {SIZES[-1]:,} <= {AIM_TIME_RATIO:.0f}x the SELECT row by row, peak at "
        f"{SIZES[-1]:,} <= {AIM_MEMORY_RATIO}x that at {SIZES[0]:,}: "
        + (f"MISSED by {', '.join(missed)}" if missed else "met by every format")
        + f"; whole run {time.perf_counter() - started:.1f}s, load average {load} -> "
        + " ".join(f"{n:.2f}" for n in os.getloadavg())
    )

    k_big, k_small = f"{SIZES[-1] // 1000}k", f"{SIZES[0] // 1000}k"
    select_name = f"SELECT of the {k_big} rows, row by row"
    select_ms = _ms(big.select)
    figures: list[Figure] = []
    for fmt in FORMATS:
        figures += [
            Figure(
                f"{fmt} export, {k_big} events, time (aim <= 3x)",
                _ms(big.exports[fmt]),
                "ms",
                select_name,
                select_ms,
            ),
            Figure(
                f"{fmt} export, {k_big} events, peak memory (aim flat)",
                _mib(big.exports[fmt].peak),
                "MiB",
                f"{fmt} export, {k_small} events",
                _mib(small.exports[fmt].peak),
            ),
        ]
    return [
        *figures,
        Figure(
            f"export's paged read (pages of 500), {k_big} events, time",
            _ms(big.paged),
            "ms",
            select_name,
            select_ms,
        ),
        Figure(
            f"SELECT of the {k_big} rows with yield_per=1000, time",
            _ms(big.yield_per),
            "ms",
            select_name,
            select_ms,
        ),
        Figure(
            f"SELECT row by row, {k_big} rows, peak memory",
            _mib(big.select.peak),
            "MiB",
            f"SELECT row by row, {k_small} rows",
            _mib(small.select.peak),
        ),
    ]
