"""Operational-command ack latency with 50 concurrent invocations while every backend hangs.

The bot (harness: the bot and the Slack sandbox on loopback, SQLite in a temp file) talks to
the demo backends on their own loopback port with every endpoint group (integrations,
queues, replay, campaigns) switched to "slow": each answer comes 10 s late, and the backend
timeout is 15 s, so every backend call really hangs. The invoking user may run the mutating
commands, so /pause-campaign, /resume-campaign and /replay-deadletter read the campaign
status or the queue metrics before their confirmation prompt; that read, like every backend
call, must come after the ack. For each of the five operational commands, 50 signed slash
commands are posted at once (asyncio.gather); an ack's latency is the time from sending the
POST to its 200. The reference is measured in the same run, the same way: 50 concurrent
`/incident help` (no backend), after one warm-up burst of it. The aim is p99 < 300 ms
(Slack's limit is 3 s); with 50 samples p99 is the slowest ack. A full garbage collection
during a burst stops the event loop and delays every ack in flight; the bench prints them.
The hanging backend calls are not waited for: the command runs still waiting on them are
cancelled (stopping the app does not cancel bolt's listener tasks), then the harness stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from bench.figures import Figure, percentile
from bench.support import full_collections, tally_logs
from bot.config.platform import IntegrationsSettings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.sandbox.demo_backends import GROUPS, DemoBackends, create_demo_backends_app
from bot.sandbox.slack_requests import FORM, signed_headers
from tests.harness import SIGNING_SECRET, Harness, bound_socket, running, url_of
from tests.ops_support import allowed, ops_settings

CONCURRENCY = 50
SLOW_SECONDS = 10.0
BACKEND_TIMEOUT = 15.0
AIM_MS = 300.0
USER = "U0ONCALL"
REFERENCE = "/incident help"
COMMANDS = (
    "/integration-status --force",
    "/queue-status",
    "/pause-campaign cmp-1001 bench",
    "/resume-campaign cmp-1003",
    "/replay-deadletter rentguy --limit 5",
)


@contextlib.asynccontextmanager
async def _slow_backends() -> AsyncIterator[tuple[str, DemoBackends]]:
    """The demo backends on a port-0 socket, every group answering 10 s late. A short
    shutdown timeout: stopping does not wait for the handlers still sleeping."""
    state = DemoBackends()
    for group in GROUPS:
        state.set_switch(group, "slow", slow_seconds=SLOW_SECONDS)
    runner = web.AppRunner(create_demo_backends_app(state), access_log=None, shutdown_timeout=1)
    await runner.setup()
    sock = bound_socket()
    await web.SockSite(runner, sock).start()
    try:
        yield url_of(sock), state
    finally:
        await runner.cleanup()


async def _ack_ms(h: Harness, body: bytes) -> float:
    headers = signed_headers(body, int(time.time()), SIGNING_SECRET, FORM)
    started = time.perf_counter()
    async with h.http.post(f"{h.bot_url}/slack/events", data=body, headers=headers) as response:
        text = await response.text()
        status = response.status
    took = (time.perf_counter() - started) * 1000
    # An ack with text would be a usage error: then the command never reached a backend.
    assert status == 200 and not text.strip(), (status, text[:200])
    return took


async def _burst(h: Harness, text: str) -> list[float]:
    bodies = [h.slash_body(text, user=USER) for _ in range(CONCURRENCY)]
    with full_collections() as pauses:
        acks = list(await asyncio.gather(*(_ack_ms(h, body) for body in bodies)))
    if pauses:
        shown = ", ".join(f"{p:.0f} ms" for p in pauses)
        print(f"  full garbage collection during the {text} burst: {shown}")
    return acks


async def _backend_calls_started(state: DemoBackends, before: int, within: float) -> float:
    """Seconds until the burst's 50 backend calls reached the backends (after the acks)."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        if len(state.requests) - before >= CONCURRENCY:
            break
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def _cancel_command_runs() -> int:
    """Cancel the commands still running after their ack (bolt runs each listener in a task
    of its own that stopping the app does not cancel), so none outlives the bot."""
    runs = [
        task
        for task in asyncio.all_tasks()
        if "run_ack_function" in getattr(task.get_coro(), "__qualname__", "")
    ]
    for task in runs:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*runs, return_exceptions=True), 10)
    return len(runs)


async def run() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        async with _slow_backends() as (backend_url, state), tally_logs():
            settings = ops_settings(backend_url, allowed(USER), timeout=BACKEND_TIMEOUT, retries=0)
            settings = replace(settings, integrations=IntegrationsSettings(probe_every=None))
            async with running(url, settings=settings) as h:
                await _burst(h, REFERENCE)  # warm-up: first connections, templates, bolt
                reference = await _burst(h, REFERENCE)
                ref_p50, ref_p99 = percentile(reference, 0.5), percentile(reference, 0.99)
                print(
                    f"  {REFERENCE} x{CONCURRENCY}: p50 {ref_p50:.1f} ms, p99 {ref_p99:.1f} ms, "
                    f"max {max(reference):.1f} ms"
                )
                worst = 0.0
                for text in COMMANDS:
                    before = len(state.requests)
                    acks = await _burst(h, text)
                    reached = await _backend_calls_started(state, before, within=5)
                    in_flight = len(state.requests) - before
                    p50, p99 = percentile(acks, 0.5), percentile(acks, 0.99)
                    worst = max(worst, p99)
                    print(
                        f"  {text} x{CONCURRENCY}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max "
                        f"{max(acks):.1f} ms; {in_flight} backend calls hanging "
                        f"{reached * 1000:.0f} ms after the last ack"
                    )
                    name = text.split()[0]
                    figures += [
                        Figure(f"{name} ack p50", p50, "ms", f"{REFERENCE} p50", ref_p50),
                        Figure(
                            f"{name} ack p99 (aim < {AIM_MS:.0f} ms)",
                            p99,
                            "ms",
                            f"{REFERENCE} p99",
                            ref_p99,
                        ),
                        Figure(
                            f"{name} ack max", max(acks), "ms", f"{REFERENCE} max", max(reference)
                        ),
                    ]
                figures.append(
                    Figure("worst command ack p99", worst, "ms", "aim (Slack allows 3 s)", AIM_MS)
                )
                stopping = time.perf_counter()
                cancelled = await _cancel_command_runs()
            print(
                f"  {cancelled} command runs still waiting on the backends cancelled; bot "
                f"stopped {time.perf_counter() - stopping:.1f} s after the last ack"
            )
    return figures
