"""PostgreSQL stopped and started under load, on a private cluster (never the shared one).

A real `warroom serve` process takes a steady stream of alerts. Slack is slow (1 s a call)
so that the outbox is in the middle of a send when the database is stopped (`pg_ctl stop -m
fast`): every alert request answers 503 with Retry-After within a few seconds — never a
500, never a hang — and /readyz fails. The database is started again: without restarting
Warroom, alerts get 202 again, /readyz is 200 again, every alert that got a 202 (before,
during or after the outage) is stored, and the outbox drains — at once, not after the
180-second lease of the row whose send the outage interrupted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.db.models import Alert, AlertGroup, OutboxMessage
from tests.db_reads import rows
from tests.faults.pg_private import private_postgres
from tests.harness import eventually
from tests.processes import Serve, cluster

GROUPS = 4
SENDERS = 4
# A request slower than this is a hang as far as a sender (Alertmanager, Grafana) is concerned.
ANSWER_WITHIN = 5.0
OUTAGE_AT_LEAST = 4.0  # seconds the database stays down (the worker and clock tick through it)
SLOW_SLACK = 1.0  # seconds each chat.postMessage / chat.update takes around the outage
CONFIG = """
slack:
  rate_per_minute:
    chat.postMessage: 6000
    chat.update: 6000
"""


@dataclass
class Sent:
    fingerprint: str
    started: float
    seconds: float
    status: int | None  # None: no answer (connection error or our client timeout)
    retry_after: str | None
    body: str


@dataclass
class Load:
    """Senders posting alerts back to back; every answer (or non-answer) is kept."""

    http: aiohttp.ClientSession
    serve: Serve
    token: str
    results: list[Sent] = field(default_factory=list)
    stopping: bool = False
    numbers: itertools.count[int] = field(default_factory=itertools.count)

    def alert(self, n: int) -> tuple[str, dict[str, Any]]:
        group = n % GROUPS
        fingerprint = f"outage{n:05d}"
        body = {
            "version": "4",
            "status": "firing",
            "receiver": "warroom",
            "groupKey": f"outage-group-{group}",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": f"OutageTest{group}",
                        "severity": "warning",
                        "n": str(n),
                    },
                    "annotations": {"summary": f"Outage test group {group}"},
                    "fingerprint": fingerprint,
                }
            ],
        }
        return f"alertmanager:{fingerprint}", body

    async def send_one(self) -> Sent:
        fingerprint, body = self.alert(next(self.numbers))
        headers = {"Authorization": f"Bearer {self.token}"}
        started = time.monotonic()
        try:
            async with self.http.post(
                f"{self.serve.url}/alerts/alertmanager",
                json=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=ANSWER_WITHIN * 2),
            ) as resp:
                text = await resp.text()
                status: int | None = resp.status
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, retry_after, text = None, None, f"{type(exc).__name__}: {exc}"
        sent = Sent(fingerprint, started, time.monotonic() - started, status, retry_after, text)
        self.results.append(sent)
        return sent

    async def sender(self) -> None:
        while not self.stopping:
            await self.send_one()
            await asyncio.sleep(0.03)


async def readyz(http: aiohttp.ClientSession, serve: Serve) -> tuple[int, dict[str, Any]]:
    async with http.get(
        f"{serve.url}/readyz", timeout=aiohttp.ClientTimeout(total=ANSWER_WITHIN * 2)
    ) as resp:
        return resp.status, json.loads(await resp.text())


async def stored_fingerprints(url: str) -> set[str]:
    return {r.fingerprint for r in await rows(url, select(Alert.fingerprint))}


async def in_flight(url: str) -> int:
    [(count,)] = await rows(
        url,
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state.in_(["pending", "sending"])),
    )
    return int(count)


async def test_database_stopped_and_started_under_load(tmp_path: Path) -> None:
    async with private_postgres() as pg:
        engine = create_engine(pg.url)
        await upgrade_to_head(engine)
        await engine.dispose()
        async with cluster(pg.url, tmp_path, base=60) as group, aiohttp.ClientSession() as http:
            (tmp_path / "warroom.yaml").write_text(CONFIG)
            serve = await group.start()
            load = Load(http, serve, group.env["WARROOM_ALERT_TOKEN"])
            senders = [asyncio.create_task(load.sender()) for _ in range(SENDERS)]
            try:
                # Up: alerts are taken and the process is ready.
                await eventually(lambda: sum(r.status == 202 for r in load.results) >= 20, 20)
                assert (await readyz(http, serve))[0] == 200
                for method in ("chat.postMessage", "chat.update"):
                    await sandbox(http, group.env, "post", method=method, status=200,
                                  delay_seconds=SLOW_SLACK, remaining=-1)  # fmt: skip
                await eventually(lambda: _sending(pg.url), within=20)

                # Down: 503 with Retry-After, quickly; /readyz fails.
                await pg.stop("fast")
                down_at = time.monotonic()
                unready = await eventually(lambda: _unready(http, serve), within=15)
                assert unready["checks"]["database"] != "ok", unready

                def refused_while_down() -> list[Sent]:
                    seen = [r for r in load.results if r.started > down_at]
                    return seen if len(seen) >= 20 else []

                await eventually(refused_while_down, within=30)
                # Hold the outage a little (the worker and the clock tick through it).
                await asyncio.sleep(max(0.0, OUTAGE_AT_LEAST - (time.monotonic() - down_at)))
                assert serve.proc.returncode is None
                up_at = time.monotonic()
                during = [
                    r for r in load.results if r.started > down_at and r.started + r.seconds < up_at
                ]
                assert (await readyz(http, serve))[0] == 503

                # Up again, Warroom untouched: 202 again, ready again.
                await pg.start()
                await eventually(
                    lambda: any(r.status == 202 and r.started > up_at for r in load.results), 30
                )
                await eventually(lambda: _ready(http, serve), within=30)
                recovered_at = time.monotonic()
                await sandbox(http, group.env, "delete")
                await eventually(
                    lambda: (
                        sum(r.started > recovered_at and r.status == 202 for r in load.results)
                        >= 10
                    ),
                    20,
                )
            finally:
                load.stopping = True
                await asyncio.gather(*senders)
            assert serve.proc.returncode is None, "warroom serve died during the outage"

            # Every request was answered quickly, with 202 or 503 — never a 500, never a hang.
            answers = {r.status for r in load.results}
            slowest = max(load.results, key=lambda r: r.seconds)
            assert answers <= {202, 503}, [r for r in load.results if r.status not in (202, 503)]
            assert slowest.seconds < ANSWER_WITHIN, slowest
            # While the database was down, every alert got 503 with Retry-After and was not
            # stored (the sender keeps it and retries).
            assert len(during) >= 20
            assert all(r.status == 503 and r.retry_after for r in during), [
                r for r in during if r.status != 503 or not r.retry_after
            ]
            assert all("retry" in r.body for r in during)

            # Afterwards: every 202 is in the database, and nothing refused is.
            stored = await stored_fingerprints(pg.url)
            accepted = {r.fingerprint for r in load.results if r.status == 202}
            after = {r.fingerprint for r in load.results if r.status == 202 and r.started > up_at}
            assert after and after <= stored
            assert accepted <= stored, sorted(accepted - stored)[:10]
            assert not stored & {r.fingerprint for r in during}

            # The outbox catches up by itself — well before the 180 s lease of the row whose
            # send the outage interrupted — and each group posted once in #alerts-queues.
            await eventually(lambda: _drained(pg.url), within=30)
            groups = await rows(pg.url, select(AlertGroup.title, AlertGroup.message_ts))
            assert len(groups) == GROUPS and all(g.message_ts for g in groups), groups
            channel = group.ws.channel_by_name("alerts-queues")
            assert channel is not None
            posts = [m for m in channel.messages if "Outage test group" in m.text]
            assert sorted(m.ts for m in posts) == sorted(g.message_ts for g in groups)


async def _unready(http: aiohttp.ClientSession, serve: Serve) -> dict[str, Any] | None:
    status, body = await readyz(http, serve)
    return body if status == 503 else None


async def _ready(http: aiohttp.ClientSession, serve: Serve) -> bool:
    return (await readyz(http, serve))[0] == 200


async def _drained(url: str) -> bool:
    return await in_flight(url) == 0


async def _sending(url: str) -> bool:
    """The outbox is in the middle of a Slack call."""
    found = await rows(url, select(OutboxMessage.id).where(OutboxMessage.state == "sending"))
    return bool(found)


async def sandbox(
    http: aiohttp.ClientSession, env: dict[str, str], verb: str, **fault: Any
) -> None:
    """Add a Slack fault (`post`), or clear them all (`delete`)."""
    url = env["SLACK_API_URL"].removesuffix("/api/") + "/_sandbox/faults"
    async with http.request(verb.upper(), url, json=fault or None) as resp:
        assert resp.status == 200, await resp.text()
