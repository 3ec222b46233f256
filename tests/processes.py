"""`warroom serve` as real child processes on one database, with a Slack sandbox of the
test's own: `cluster(database_url, tmp, base)` yields a `Cluster` whose `start()` spawns one
more `serve` (its URL read from the start-up line), all killed at the end; and the reads the
clock tests check them with (`deadlines`, `wait_all_fired`, `assert_each_step_once`).

`base` is the escalation policy's first step in seconds (`config_text`): the critical
incidents these processes declare fall due within seconds, one step (`STEPS`) a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.core.timeline import EventKind
from bot.db.engine import create_engine, session_factory
from bot.db.models import EscalationDeadline, Incident, OutboxMessage, TimelineEvent
from bot.sandbox.app import create_sandbox_app
from bot.sandbox.page import PageConfig
from bot.sandbox.slack_requests import signed_headers, slash_command_body
from bot.sandbox.workspace import Workspace, default_workspace
from tests.harness import SIGNING_SECRET, bound_socket, url_of

STEPS = ("ack", "ic", "dr_plan", "team_lead", "cto")
CONFIG = """
escalation:
  critical:
    ack_within: {base}s
    ic_within: {ic}s
    dr_plan_after: {dr}s
    team_lead_after: {lead}s
    cto_after: {cto}s
"""
ROOT = Path(__file__).resolve().parents[1]


def config_text(base: int) -> str:
    return CONFIG.format(base=base, ic=base + 1, dr=base + 2, lead=base + 3, cto=base + 4)


@dataclass
class Serve:
    proc: asyncio.subprocess.Process
    url: str


@dataclass
class Cluster:
    ws: Workspace
    env: dict[str, str]
    tmp: Path
    processes: list[Serve]

    async def start(self) -> Serve:
        log = (self.tmp / f"serve-{len(self.processes)}.log").open("w")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli.main", "serve", "--host", "127.0.0.1", "--port", "0",
            stdout=asyncio.subprocess.PIPE, stderr=log, env=self.env, cwd=self.tmp,
        )  # fmt: skip
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            while True:
                line = (await proc.stdout.readline()).decode()
                assert line or proc.returncode is None, "serve exited on start"
                if match := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
                    break
        serve = Serve(proc, match.group(1))
        self.processes.append(serve)
        return serve

    async def declare(self, http: aiohttp.ClientSession, serve: Serve, title: str) -> None:
        general = next(c for c in self.ws.channels.values() if c.name == "general")
        body = slash_command_body(
            self.ws,
            command="/incident",
            text=f"declare critical {title}",
            user_id="U0ONCALL",
            channel_id=general.id,
            response_url=f"{serve.url}/unused",
            trigger_id="1.2.3",
        )
        headers = signed_headers(body, int(time.time()), SIGNING_SECRET)
        async with http.post(f"{serve.url}/slack/events", data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()

    async def kill_all(self) -> None:
        for serve in self.processes:
            if serve.proc.returncode is None:
                serve.proc.send_signal(signal.SIGKILL)
                await serve.proc.wait()


@contextlib.asynccontextmanager
async def cluster(database_url: str, tmp: Path, base: int) -> AsyncIterator[Cluster]:
    ws = default_workspace(time.time())
    sock = bound_socket()
    sandbox_url = url_of(sock)
    page = PageConfig(
        public_url=sandbox_url,
        events_url=f"{sandbox_url}/unused",
        signing_secret=SIGNING_SECRET,
        alerts_url=f"{sandbox_url}/unused",
        alert_token="unused",
    )
    runner = web.AppRunner(create_sandbox_app(ws, time.time, page), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    (tmp / "warroom.yaml").write_text(config_text(base))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-sandbox-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"{sandbox_url}/api/",
        "WARROOM_CONFIG": str(tmp / "warroom.yaml"),
        "WARROOM_ALERT_TOKEN": "process-test-alert-token",
    }
    group = Cluster(ws, env, tmp, [])
    try:
        yield group
    finally:
        await group.kill_all()
        await runner.cleanup()


async def deadlines(database_url: str) -> list[EscalationDeadline]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.scalars(select(EscalationDeadline))).all())
    finally:
        await engine.dispose()


async def wait_all_fired(database_url: str, expected: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = await deadlines(database_url)
        if len(rows) >= expected and all(r.fired_at or r.cancelled_at for r in rows):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"steps still pending after {within} s")


async def assert_each_step_once(database_url: str, incidents: int) -> list[EscalationDeadline]:
    rows = await deadlines(database_url)
    fired = Counter((r.incident_id, r.step) for r in rows if r.fired_at is not None)
    assert sorted(set(fired.values())) == [1], fired
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            ids = list((await session.scalars(select(Incident.id))).all())
            events = (
                await session.execute(
                    select(TimelineEvent.incident_id, TimelineEvent.data).where(
                        TimelineEvent.kind.in_([EventKind.CLOCK_STEP, EventKind.CLOCK_BREACH])
                    )
                )
            ).all()
            announces = await session.scalars(
                select(OutboxMessage.payload).where(
                    OutboxMessage.method.in_(["chat.postMessage", "room.message"])
                )
            )
            dr_posts = [p for p in announces if "*DR plan*" in str(p.get("text", ""))]
    finally:
        await engine.dispose()
    assert len(ids) == incidents
    expected = {(i, step) for i in ids for step in STEPS}
    assert set(fired) == expected
    on_timeline = Counter((incident_id, data["step"]) for incident_id, data in events)
    assert on_timeline == Counter(dict.fromkeys(expected, 1))
    # The DR plan goes to the room and to #dr-war-room: two rows per incident, never more.
    assert len(dr_posts) == 2 * incidents
    return rows
