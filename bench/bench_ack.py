"""Slash-command ack latency: signed `/incident help` against a bare aiohttp 200 endpoint.

The bot verifies the signature, parses through bolt and acks; the slow part runs after the
ack. The reference is an aiohttp handler that reads the same body and answers 200 at once.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.figures import Figure, percentile
from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.sandbox.slack_requests import FORM, signed_headers, slash_command_body
from tests.harness import SIGNING_SECRET, bound_socket, running, url_of

REQUESTS = 300


async def _latencies(http: aiohttp.ClientSession, url: str, bodies: list[bytes]) -> list[float]:
    samples = []
    for body in bodies:
        headers = signed_headers(body, int(time.time()), SIGNING_SECRET, FORM)
        started = time.perf_counter()
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _reference(bodies: list[bytes]) -> list[float]:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = bound_socket()
    await web.SockSite(runner, sock).start()
    try:
        async with aiohttp.ClientSession() as http:
            return await _latencies(http, f"{url_of(sock)}/slack/events", bodies)
    finally:
        await runner.cleanup()


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        async with running(url) as h:
            general = h.channel("general").id
            bodies = [
                slash_command_body(
                    h.ws,
                    command="/incident",
                    text="help",
                    user_id="U0ONCALL",
                    channel_id=general,
                    response_url=f"{h.sandbox_url}/response/none",
                    trigger_id=f"t{i}",
                )
                for i in range(REQUESTS)
            ]
            bot = await _latencies(h.http, f"{h.bot_url}/slack/events", bodies)
        reference = await _reference(bodies)
    return [
        Figure(
            "ack p50", percentile(bot, 0.5), "ms", "bare aiohttp p50", percentile(reference, 0.5)
        ),
        Figure(
            "ack p99", percentile(bot, 0.99), "ms", "bare aiohttp p99", percentile(reference, 0.99)
        ),
    ]
