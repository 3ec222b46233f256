"""Shared by the alert benchmarks: a throw-away PostgreSQL database, a concurrent driver,
a bare aiohttp reference server, a tally of the bot's warnings and the outbox's state."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy import func, select

from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.db.models import OutboxMessage
from tests.harness import bound_socket, url_of

ADMIN_URL = os.environ.get(
    "WARROOM_BENCH_POSTGRES_URL",
    os.environ.get(
        "WARROOM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    ),
)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def pg_database() -> AsyncIterator[str | None]:
    """A fresh, migrated `warroom_bench_<random>` database (dropped afterwards); None when
    PostgreSQL is unreachable."""
    try:
        conn = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        print(
            f"  SKIP: PostgreSQL not reachable at {ADMIN_URL} ({type(exc).__name__}); "
            "set WARROOM_BENCH_POSTGRES_URL"
        )
        yield None
        return
    name = f"warroom_bench_{uuid.uuid4().hex[:10]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        yield url
    finally:
        conn = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def payload(tag: str, group: int, severity: str, *, size: int, first: int = 0) -> dict[str, Any]:
    """One Alertmanager v4 webhook: alerts `first`..`first+size-1` of one group (stable
    fingerprints, so a repeat updates the same rows)."""
    name = f"Bench{tag.capitalize()}Alert"
    service = f"svc-{tag}-{group:04d}"
    common = {"alertname": name, "service": service, "severity": severity}
    summary = f"{service}: error rate above threshold ({severity})"
    alerts = [
        {
            "status": "firing",
            "labels": {**common, "instance": f"worker-{i}"},
            "annotations": {
                "summary": summary,
                "description": f"instance worker-{i} of {service} fails 12% of requests",
                "runbook_url": "https://runbooks.example.com/queues#backlog-critical",
            },
            "startsAt": "2026-11-22T13:02:03.35914057Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com/graph?g0.expr=error_rate",
            "fingerprint": f"{tag}{group:04d}{i:04d}",
        }
        for i in range(first, first + size)
    ]
    return {
        "receiver": "warroom",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": name, "service": service},
        "commonLabels": common,
        "commonAnnotations": {"summary": summary},
        "externalURL": "http://alertmanager.example.com:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}", service="{service}"}}',
        "truncatedAlerts": 0,
    }


@dataclass
class Run:
    latencies_ms: list[float]
    seconds: float
    statuses: Counter[int]


async def drive(
    http: aiohttp.ClientSession,
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    concurrency: int,
    *,
    within: float | None = None,
) -> Run:
    """POST every body once, `concurrency` clients pulling from one queue; with `within`,
    no new request starts after that many seconds."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def client() -> None:
        while not queue.empty() and (deadline is None or time.perf_counter() < deadline):
            body = queue.get_nowait()
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    deadline = None if within is None else started + within
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Run(latencies, time.perf_counter() - started, statuses)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def reference_server(path: str, handler: Handler) -> AsyncIterator[str]:
    """A bare aiohttp app on a port-0 socket serving `handler` at `path`; yields its URL."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = bound_socket()
    await web.SockSite(runner, sock).start()
    try:
        yield f"{url_of(sock)}{path}"
    finally:
        await runner.cleanup()


@dataclass
class LogTally(logging.Handler):
    """Counts the bot's WARNING-and-worse log lines, so a benchmark can report them."""

    seen: Counter[str] = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.WARNING)

    def __hash__(self) -> int:
        return id(self)

    def emit(self, record: logging.LogRecord) -> None:
        extra = {k: v for k, v in vars(record).items() if k in ("error", "method", "outbox_method")}
        self.seen[f"{record.levelname} {record.name}: {record.getMessage()} {extra or ''}"] += 1
        if record.exc_info and len(self.tracebacks) < 3:
            self.tracebacks.append(logging.Formatter().formatException(record.exc_info))

    def report(self) -> None:
        if not self.seen:
            print("  bot log: no warnings or errors")
        for line, count in self.seen.most_common(12):
            print(f"  bot log x{count}: {line}")
        for text in self.tracebacks:
            print("  traceback:\n    " + text.replace("\n", "\n    "))


@asynccontextmanager
async def tally_logs() -> AsyncIterator[LogTally]:
    tally = LogTally()
    root = logging.getLogger()
    root.addHandler(tally)
    try:
        yield tally
    finally:
        root.removeHandler(tally)
        tally.report()


async def outbox_states(database_url: str) -> dict[tuple[str, str], int]:
    """(method, state) -> rows, to show what is still owed to Slack."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(OutboxMessage.method, OutboxMessage.state, func.count()).group_by(
                    OutboxMessage.method, OutboxMessage.state
                )
            )
            return {(str(m), str(s)): int(n) for m, s, n in result.all()}
    finally:
        await engine.dispose()


def calls_by_method(calls: list[tuple[str, Any]]) -> Counter[str]:
    return Counter(method for method, _ in calls)


@contextmanager
def full_collections() -> Iterator[list[float]]:
    """The interpreter's full (generation 2) garbage collections meanwhile, in ms: each
    stops the event loop, so every ack in flight waits for it."""
    pauses: list[float] = []
    started = 0.0

    def watch(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if info["generation"] != 2:
            return
        if phase == "start":
            started = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started) * 1000)

    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)
