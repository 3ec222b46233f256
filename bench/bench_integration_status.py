"""/integration-status over 20 integrations of which 5 hang: total time against one timeout.

Twenty integrations each have their own health URL on a small aiohttp server on loopback: 15
answer at once in the demo backends' shape, 5 sleep 30 s. The integrations backend's timeout is
1 s (no retries; no per-integration timeout), so a round that probes them one after another
would take 5 s and more; probed all at once, each under its own timeout, a round takes one
timeout. The bot runs in the harness (SQLite in a temp file, periodic probe off) and
`bot.operations.integration_probe.probe(services, names, force=True)` is timed, 5 rounds, each
forced. The reference is the 1 s timeout; the aim is median <= 1.2 times the timeout. Each
round must find exactly the 5 hanging integrations down. The first round also creates the
backend client of each integration (each has its own circuit breaker and its own httpx client),
which shows in the max.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bench.figures import Figure
from bench.support import tally_logs
from bot.config.backends import BackendSettings
from bot.config.platform import IntegrationSettings, IntegrationsSettings
from bot.config.settings import Settings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.operations.integration_probe import probe
from bot.web.keys import SERVICES
from tests.harness import bound_socket, running, url_of

INTEGRATIONS = [f"integration-{i:02d}" for i in range(1, 21)]
HANGING = frozenset(INTEGRATIONS[i] for i in (2, 6, 10, 14, 18))
HANG_SECONDS = 30.0
TIMEOUT_SECONDS = 1.0
ROUNDS = 5
AIM = 1.2


@asynccontextmanager
async def _health_server() -> AsyncIterator[str]:
    """GET /health/{name}: up at once, or (for the hanging five) nothing for 30 s. Stopping
    does not wait for the sleeping handlers."""

    async def health(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in HANGING:
            await asyncio.sleep(HANG_SECONDS)
        return web.json_response(
            {
                "name": name,
                "status": "up",
                "latency_ms": 120,
                "last_error": None,
                "last_success": datetime.now(UTC).isoformat(),
            }
        )

    app = web.Application()
    app.router.add_get("/health/{name}", health)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    sock = bound_socket()
    await web.SockSite(runner, sock).start()
    try:
        yield url_of(sock)
    finally:
        await runner.cleanup()


def _settings(url: str) -> Settings:
    backend = BackendSettings(base_url=url, timeout=timedelta(seconds=TIMEOUT_SECONDS), retries=0)
    items = {name: IntegrationSettings(health_path=f"/health/{name}") for name in INTEGRATIONS}
    return replace(
        Settings(),
        backends={"integrations": backend},
        integrations=IntegrationsSettings(items=items, probe_every=None),
    )


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        async with (
            _health_server() as health_url,
            tally_logs(),
            running(url, settings=_settings(health_url)) as h,
        ):
            services = h.app[SERVICES]
            seconds: list[float] = []
            print(f"  hanging: {', '.join(sorted(HANGING))}")
            for n in range(1, ROUNDS + 1):
                started = time.perf_counter()
                probed = await probe(services, INTEGRATIONS, force=True)
                seconds.append(time.perf_counter() - started)
                down = {r.name for r in probed.results if r.status == "down"}
                check = "exactly the hanging five" if down == HANGING else f"WRONG: {sorted(down)}"
                print(
                    f"  round {n}: {seconds[-1]:.3f} s, {len(probed.results)} results, "
                    f"{len(down)} down ({check})"
                )
            breakers = {
                name: services.backends.get("integrations", name).breaker.failures
                for name in sorted(HANGING)
            }
            print(f"  breaker failures of the hanging five afterwards: {breakers}")
    median = statistics.median(seconds)
    return [
        Figure("20 probed, 5 hang: min", min(seconds), "s", "one timeout", TIMEOUT_SECONDS),
        Figure(
            f"20 probed, 5 hang: median (aim <= {AIM}x timeout)",
            median,
            "s",
            "one timeout",
            TIMEOUT_SECONDS,
        ),
        Figure("20 probed, 5 hang: max", max(seconds), "s", "one timeout", TIMEOUT_SECONDS),
    ]
