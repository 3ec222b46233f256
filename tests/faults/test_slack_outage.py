"""Slack misbehaves — 429 with Retry-After, 500s, a hang, a slow answer — then recovers.

One real `warroom serve` process against the Slack sandbox (an HTTP server in the test) and
PostgreSQL. While chat.postMessage is failing, a war room is owed a run of status updates
and #alerts-queues a run of alert posts. Once Slack answers again, every owed message has
arrived exactly once, in the order it was owed, per channel — and the outbox is empty.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.db.models import Incident, OutboxMessage
from bot.sandbox.slack_requests import signed_headers, slash_command_body
from bot.sandbox.web_api import new_response_url
from bot.sandbox.workspace import Channel, Workspace
from tests.db_reads import rows
from tests.harness import SIGNING_SECRET, eventually
from tests.processes import Cluster, Serve, cluster

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

UPDATES = 6
ALERTS = 6
METHOD = "chat.postMessage"
CONFIG = """
slack:
  rate_per_minute:
    chat.postMessage: 6000
    chat.update: 6000
    conversations.create: 6000
    conversations.invite: 6000
    conversations.setTopic: 6000
    pins.add: 6000
    bookmarks.add: 6000
"""
# What chat.postMessage answers, one stage after the other; each stage is used up by the
# worker before the next is set. A hang ends in a 503 (the call was not done), and the slow
# answer is a success: a call Slack carried out is never repeated.
STAGES: list[dict[str, Any]] = [
    {"status": 429, "retry_after": 1, "remaining": 2},
    {"status": 500, "remaining": 3},
    {"status": 503, "delay_seconds": 4, "remaining": 1},
    {"status": 200, "delay_seconds": 2, "remaining": 2},
]


async def slash(
    http: aiohttp.ClientSession, group: Cluster, serve: Serve, text: str, channel: str
) -> None:
    ws, sandbox = group.ws, group.env["SLACK_API_URL"].removesuffix("/api/")
    command, _, rest = text.partition(" ")
    token = new_response_url(ws, channel=channel, user="U0ONCALL", now=time.time())
    body = slash_command_body(
        ws,
        command=command,
        text=rest,
        user_id="U0ONCALL",
        channel_id=channel,
        response_url=f"{sandbox}/response/{token}",
        trigger_id=f"trigger-{token[-8:]}",
    )
    headers = signed_headers(body, int(time.time()), SIGNING_SECRET)
    async with http.post(f"{serve.url}/slack/events", data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def alert(http: aiohttp.ClientSession, group: Cluster, serve: Serve, n: int) -> None:
    body = {
        "version": "4",
        "status": "firing",
        "groupKey": f"slack-outage-{n}",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": f"SlackOutage{n}", "severity": "warning"},
                "annotations": {"summary": f"Owed alert post {n:02d}"},
                "fingerprint": f"slack-outage-{n}",
            }
        ],
    }
    token = group.env["WARROOM_ALERT_TOKEN"]
    async with http.post(
        f"{serve.url}/alerts/alertmanager",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 202, await resp.text()


async def add_fault(http: aiohttp.ClientSession, group: Cluster, fault: dict[str, Any]) -> None:
    sandbox = group.env["SLACK_API_URL"].removesuffix("/api/")
    async with http.post(f"{sandbox}/_sandbox/faults", json={"method": METHOD, **fault}) as resp:
        assert resp.status == 200, await resp.text()


async def outbox_rows(url: str, *states: str) -> list[Any]:
    return await rows(
        url,
        select(
            OutboxMessage.id, OutboxMessage.method, OutboxMessage.state, OutboxMessage.last_error
        ).where(OutboxMessage.state.in_(states)),
    )


async def ready_room(url: str, ws: Workspace) -> Channel | None:
    found = await rows(url, select(Incident.channel_id))
    if len(found) != 1 or not found[0].channel_id or await outbox_rows(url, "pending", "sending"):
        return None
    room = ws.channels[found[0].channel_id]
    return room if room.pins else None


def numbered(channel: Channel, pattern: str) -> list[int]:
    """The numbers in the bot's messages matching `pattern`, in the channel's order."""
    found = []
    for message in channel.messages:
        if message.ephemeral_to is None and (match := re.search(pattern, message.text)):
            found.append(int(match.group(1)))
    return found


async def test_owed_messages_arrive_once_and_in_order_after_slack_recovers(
    database_url: str, tmp_path: Path
) -> None:
    async with cluster(database_url, tmp_path, base=600) as group, aiohttp.ClientSession() as http:
        (tmp_path / "warroom.yaml").write_text(CONFIG)
        serve = await group.start()
        general = group.ws.channel_by_name("general")
        alerts = group.ws.channel_by_name("alerts-queues")
        assert general is not None and alerts is not None
        await slash(http, group, serve, "/incident declare critical Slack outage drill", general.id)
        room = await eventually(lambda: ready_room(database_url, group.ws), within=30)
        calls_before = sum(1 for method, _ in group.ws.calls if method == METHOD)

        # Slack starts failing; then the messages are owed, alternating between two channels.
        await add_fault(http, group, STAGES[0])
        for n in range(1, max(UPDATES, ALERTS) + 1):
            if n <= UPDATES:
                await slash(http, group, serve, f"/incident update Owed update {n:02d}", room.id)
            if n <= ALERTS:
                await alert(http, group, serve, n)
        for stage in STAGES:
            if stage is not STAGES[0]:
                await add_fault(http, group, stage)
            # The worker uses the stage up (a stage's last use removes it) before the next.
            await eventually(lambda: METHOD not in group.ws.faults, within=60)

        # Slack answers normally again: everything owed arrives, once each, in order.
        def delivered() -> bool:
            updates = numbered(room, r"Owed update (\d+)")
            posts = numbered(alerts, r"Owed alert post (\d+)")
            return len(updates) >= UPDATES and len(posts) >= ALERTS

        await eventually(delivered, within=60)
        await eventually(lambda: _drained(database_url), within=30)
        assert numbered(room, r"Owed update (\d+)") == list(range(1, UPDATES + 1))
        assert numbered(alerts, r"Owed alert post (\d+)") == list(range(1, ALERTS + 1))
        # Every stage was answered to a real call: the messages, plus each failed try.
        failed_tries = sum(s["remaining"] for s in STAGES if s["status"] >= 400)
        calls = sum(1 for method, _ in group.ws.calls if method == METHOD)
        assert calls - calls_before >= UPDATES + ALERTS + failed_tries
        retried = await rows(
            database_url,
            select(OutboxMessage.method, OutboxMessage.attempts).where(OutboxMessage.attempts > 1),
        )
        assert retried, "no outbox row was retried: the faults did not bite"
        assert not group.ws.faults
        assert await outbox_rows(database_url, "failed") == []


async def _drained(url: str) -> bool:
    return not await outbox_rows(url, "pending", "sending")
