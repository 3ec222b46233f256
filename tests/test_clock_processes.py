"""The escalation clock across real `warroom serve` processes on one PostgreSQL.

Three processes tick the same deadlines: every step fires exactly once. Processes killed
with SIGKILL while steps are due: a restarted one fires every step, late and once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.processes import STEPS, assert_each_step_once, cluster, deadlines, wait_all_fired

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def test_three_processes_fire_every_step_once(database_url: str, tmp_path: Path) -> None:
    incidents = 9
    async with cluster(database_url, tmp_path, base=6) as group:
        serves = [await group.start() for _ in range(3)]
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(
                *(
                    group.declare(http, serves[i % 3], f"Replica clock {i}")
                    for i in range(incidents)
                )
            )
        await wait_all_fired(database_url, incidents * len(STEPS), within=60)
        rows = await assert_each_step_once(database_url, incidents)
        assert all(r.fired_at and r.fired_at >= r.due_at for r in rows if r.fired_at)
        # Slack saw each incident's DR plan exactly once in the announce channel.
        announce = next(c for c in group.ws.channels.values() if c.name == "dr-war-room")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            dr = [m for m in announce.messages if "*DR plan*" in m.text]
            if len(dr) >= incidents:
                break
            await asyncio.sleep(0.2)
        titles = Counter(re.findall(r"\(Replica clock \d+\)", " ".join(m.text for m in dr)))
        assert len(titles) == incidents and set(titles.values()) == {1}


async def test_killed_processes_catch_up_late_and_once(database_url: str, tmp_path: Path) -> None:
    incidents = 6
    async with cluster(database_url, tmp_path, base=4) as group:
        serves = [await group.start() for _ in range(3)]
        async with aiohttp.ClientSession() as http:
            for i in range(incidents):
                await group.declare(http, serves[i % 3], f"Killed clock {i}")
        # Kill every process once the first steps have fired and others are (nearly) due.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(r.fired_at for r in await deadlines(database_url)):
                break
            await asyncio.sleep(0.2)
        await group.kill_all()
        down_at = time.monotonic()
        pending = [r for r in await deadlines(database_url) if not r.fired_at]
        assert pending, "every step fired before the kill; nothing to catch up"
        await asyncio.sleep(max(0.0, 7 - (time.monotonic() - down_at)))  # all now overdue
        await group.start()
        await wait_all_fired(database_url, incidents * len(STEPS), within=40)
        rows = await assert_each_step_once(database_url, incidents)
        late = {r.id for r in rows if r.fired_at and r.fired_at - r.due_at >= timedelta(seconds=2)}
        assert {r.id for r in pending} <= late
