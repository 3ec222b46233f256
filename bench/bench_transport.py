"""Slash-command ack latency over Slack's two transports: Socket Mode against HTTP.

Two harnesses run side by side (each the real bot and its Slack sandbox on loopback, SQLite
in a temp file of its own): one reached over HTTP (signed POSTs to /slack/events), one in
Socket Mode (the bot opened its WebSocket with apps.connections.open; the sandbox pushes
each slash command as an envelope and waits for the bot's ack, as Slack does). An ack's
latency is the time from `Harness.send` (the POST, or the envelope sent) to the 200 or the
ack; the bodies, each with a fresh response_url, are built before timing. Measured:
300 sequential `/incident help` per transport, the two transports alternating (and which
goes first alternating), then 10 bursts of 50 at once (asyncio.gather) per transport, also
alternating; a warm-up (20 sequential, 2 bursts of each) first. The reference is HTTP in
the same run; the aim is Socket Mode within 1.5x of it, and every ack under Slack's 3 s
(the sandbox times a Socket Mode envelope out after 3 s: such an ack fails). A full garbage
collection stops the event loop and delays every ack in flight, of one transport's burst
only: the bench collects before each phase and each burst (untimed) and prints any
collection during the timed part (none expected).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.figures import Figure, percentile
from bench.support import full_collections, tally_logs
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.sandbox.slack_requests import FORM
from tests.harness import Harness, running

SEQUENTIAL = 300
CONCURRENCY = 50
BURSTS = 10
WARM_UP = 20
AIM_RATIO = 1.5
LIMIT_MS = 3000.0
USER = "U0ONCALL"
COMMAND, TEXT = "/incident", "help"


@contextlib.asynccontextmanager
async def _database(tmp: str, name: str) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{Path(tmp) / f'{name}.db'}"
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    yield url


class Samples:
    """One transport's ack latencies (ms) and the acks that failed (not 200, or text: a
    usage error instead of the bare ack `/incident help` gets)."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.failed: list[str] = []

    async def ack(self, h: Harness, body: bytes) -> None:
        started = time.perf_counter()
        ack = await h.send(body, FORM)
        took = (time.perf_counter() - started) * 1000
        if ack.status != 200 or ack.text.strip():
            self.failed.append(f"{ack.status} {ack.text[:120]}")
        self.ms.append(took)

    def summary(self) -> str:
        p50, p95, p99 = (percentile(self.ms, q) for q in (0.5, 0.95, 0.99))
        return (
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {max(self.ms):.1f} ms, "
            f"{len(self.failed)} failed of {len(self.ms)}"
        )


def _report_collections(phase: str, pauses: list[float]) -> None:
    if pauses:
        shown = ", ".join(f"{p:.0f} ms" for p in pauses)
        print(f"  full garbage collection during the {phase}: {shown}")


async def _sequential(pair: list[tuple[Harness, Samples]], rounds: int) -> list[float]:
    """One ack of each transport per round; returns the full collections meanwhile (ms)."""
    gc.collect()
    with full_collections() as pauses:
        for i in range(rounds):
            bodies = [
                (h, samples, h.slash_body(f"{COMMAND} {TEXT}", user=USER)) for h, samples in pair
            ]
            for h, samples, body in bodies if i % 2 == 0 else reversed(bodies):
                await samples.ack(h, body)
    return pauses


async def _bursts(pair: list[tuple[Harness, Samples]], bursts: int) -> list[float]:
    """`bursts` bursts of each transport in turn; returns the full collections during the
    bursts (ms). Collecting before each burst (untimed) keeps the collector from stopping
    one transport's burst only."""
    pauses: list[float] = []
    for i in range(bursts):
        for h, samples in pair if i % 2 == 0 else reversed(pair):
            bodies = [h.slash_body(f"{COMMAND} {TEXT}", user=USER) for _ in range(CONCURRENCY)]
            gc.collect()
            with full_collections() as during:
                await asyncio.gather(*(samples.ack(h, body) for body in bodies))
            pauses += during
    return pauses


def _figures(phase: str, http: Samples, socket: Samples) -> list[Figure]:
    figures = []
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        aim = f" (aim <= {AIM_RATIO:g}x)" if label == "p99" else ""
        figures.append(
            Figure(
                f"Socket Mode ack {label}, {phase}{aim}",
                percentile(socket.ms, q),
                "ms",
                f"HTTP ack {label}",
                percentile(http.ms, q),
            )
        )
    return figures


async def run() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            _database(tmp, "http") as http_url,
            _database(tmp, "socket") as socket_url,
            tally_logs(),
            running(http_url, transport="http") as hh,
            running(socket_url, transport="socket") as hs,
        ):
            warm = [(hh, Samples()), (hs, Samples())]
            await _sequential(warm, WARM_UP)  # first connections, templates, bolt
            await _bursts(warm, 2)
            phases = [("sequential", _sequential, SEQUENTIAL), ("50 at once", _bursts, BURSTS)]
            results = []
            for phase, measure, times in phases:
                http, socket = Samples(), Samples()
                pauses = await measure([(hh, http), (hs, socket)], times)
                _report_collections(f"{phase} acks", pauses)
                for name, samples in (("HTTP", http), ("Socket Mode", socket)):
                    print(f"  {name}, {phase}: {samples.summary()}")
                    for failure in samples.failed[:3]:
                        print(f"    failed ack: {failure}")
                figures += _figures(phase, http, socket)
                results += [http, socket]
            assert hs.sockets is not None
            print(
                f"  Socket Mode: {len(hs.sockets.delivered)} envelopes over "
                f"{hs.sockets.accepted} connection(s), {len(hs.sockets.timeouts)} timed out"
            )
    worst = max(max(samples.ms) for samples in results)
    failed = sum(len(samples.failed) for samples in results)
    sent = sum(len(samples.ms) for samples in results)
    figures += [
        Figure("slowest ack, both transports (aim < 3 s)", worst, "ms", "Slack's limit", LIMIT_MS),
        Figure("failed or timed-out acks (aim 0)", failed, "acks", "acks sent", sent),
    ]
    return figures
