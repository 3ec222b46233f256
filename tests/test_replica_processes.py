"""Three real `warroom serve` processes on one PostgreSQL, alerts sprayed across all three:
one incident and one war room per group, and every Slack call owed made exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.db.engine import create_engine, session_factory
from bot.db.models import Incident, OutboxMessage
from tests.processes import Cluster, Serve, cluster

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

GROUPS = 12
TOKEN = "process-test-alert-token"


def pagerduty(group: int) -> dict[str, Any]:
    return {
        "event_action": "trigger",
        "dedup_key": f"replica-spray-{group}",
        "payload": {
            "summary": f"Replica spray group {group} failing",
            "severity": "critical",
            "source": "spray",
        },
    }


async def spray(http: aiohttp.ClientSession, serves: list[Serve]) -> list[int]:
    """Every group's alert to every process at once, twice (as HA Alertmanagers do)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def send(serve: Serve, group: int) -> int:
        url = f"{serve.url}/alerts/generic"
        async with http.post(url, json=pagerduty(group), headers=headers) as resp:
            return resp.status

    jobs = [send(s, g) for _ in range(2) for g in range(GROUPS) for s in serves]
    return list(await asyncio.gather(*jobs))


async def stored(database_url: str) -> tuple[list[Incident], list[OutboxMessage]]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            incidents = list((await session.scalars(select(Incident))).all())
            rows = list((await session.scalars(select(OutboxMessage))).all())
            return incidents, rows
    finally:
        await engine.dispose()


async def rooms_built_and_sent(
    database_url: str, group: Cluster, within: float = 60
) -> list[OutboxMessage]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _incidents, rows = await stored(database_url)
        rooms = [c for c in group.ws.channels.values() if c.name.startswith("inc-") and c.pins]
        open_rows = [r for r in rows if r.state in ("pending", "sending")]
        if len(rooms) >= GROUPS and not open_rows:
            return rows
        await asyncio.sleep(0.5)
    raise AssertionError("the replicas did not settle")


async def test_alerts_sprayed_across_three_replicas(database_url: str, tmp_path: Path) -> None:
    async with cluster(database_url, tmp_path, base=3600) as group:
        serves = [await group.start() for _ in range(3)]
        async with aiohttp.ClientSession() as http:
            statuses = await spray(http, serves)
        assert set(statuses) == {202}
        rows = await rooms_built_and_sent(database_url, group)
        incidents, _ = await stored(database_url)
        assert len(incidents) == GROUPS
        assert len({i.group_key for i in incidents}) == GROUPS
        rooms = [c for c in group.ws.channels.values() if c.name.startswith("inc-")]
        assert len(rooms) == GROUPS  # one war room per group, never two
        created = [m for m, _ in group.ws.calls if m == "conversations.create"]
        assert len(created) == GROUPS
        intros = Counter(
            r.incident_id for r in rows if r.method == "room.intro" and r.state == "sent"
        )
        assert sorted(intros.values()) == [1] * GROUPS
        announce = next(c for c in group.ws.channels.values() if c.name == "dr-war-room")
        lines = Counter(m.text for m in announce.messages if m.user == group.ws.bot_user_id)
        assert len(lines) == GROUPS and set(lines.values()) == {1}  # each said once
        assert {r.state for r in rows} <= {"sent"}
