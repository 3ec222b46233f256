"""The storm: 10,000 critical alerts across 50 groups, on PostgreSQL, against the sandbox.

Alertmanager sends a group's alerts in one webhook, so the storm is 200 webhooks of 50
alerts (4 per group, alerts 0-199 of each group, interleaved across groups) from 16
concurrent clients, as fast as the intake takes them and never more than 60 s of sending.
Every group is critical, so each must open exactly one war room. Slack pacing is the
default (Slack's real tiers: conversations.create, setTopic and pins.add at 20/min with a
burst of 5), so 50 rooms take minutes: the run waits at most 4 minutes for every room to be
ready (created, responders invited, intro pinned) and compares that time with the floor the
pacing alone imposes. Slack calls are counted from the sandbox's call log.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

from sqlalchemy import func, select

from bench.figures import Figure, percentile
from bench.support import (
    calls_by_method,
    drive,
    outbox_states,
    payload,
    pg_database,
    tally_logs,
)
from bot.config.settings import Settings, SlackSettings, WarRoomSettings
from bot.core.pacing import Pacer
from bot.db.models import Incident
from bot.sandbox.workspace import Channel
from tests.db_reads import rows
from tests.harness import ALERT_TOKEN, Harness, running

GROUPS = 50
BATCHES = 4
PER_PAYLOAD = 50
CONCURRENCY = 16
SEND_WITHIN = 60.0
READY_WITHIN = 240.0
SETTLE = 8.0  # after the last room: the summary debounce (5 s) and the announcements drain
RESPONDER = "U0IC"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERT_TOKEN}"}
# Default rate_per_minute (Slack's tiers); one responder invited; no maintenance window.
SETTINGS = replace(
    Settings(),
    maintenance=(),
    slack=SlackSettings(war_room=WarRoomSettings(invite_users=(RESPONDER,))),
)
ROOM_PACED = ("conversations.create", "conversations.invite", "conversations.setTopic", "pins.add")


def storm_bodies() -> list[bytes]:
    """Batch k of every group before batch k+1 of any: the storm grows group by group."""
    return [
        json.dumps(payload("s", g, "critical", size=PER_PAYLOAD, first=k * PER_PAYLOAD)).encode()
        for k in range(BATCHES)
        for g in range(GROUPS)
    ]


def pacing_floor(rooms: int) -> float:
    """Seconds before the last of `rooms` rooms can be ready under the configured pacing:
    each room needs one call of every ROOM_PACED method; a bucket starts with `burst`."""
    pacer = Pacer(SETTINGS.slack.rate_per_minute)
    return max(max(rooms - pacer.burst, 0) / pacer.rate(m) for m in ROOM_PACED)


def war_rooms(h: Harness) -> list[Channel]:
    return [c for c in h.ws.channels.values() if c.name.startswith("inc-")]


def ready(h: Harness) -> int:
    return sum(1 for c in war_rooms(h) if c.pins and RESPONDER in c.members)


async def wait_ready(h: Harness, started: float) -> float | None:
    """Seconds from the storm's start until GROUPS rooms are ready; None at the cap."""
    while time.perf_counter() - started < READY_WITHIN:
        if ready(h) >= GROUPS:
            return time.perf_counter() - started
        await asyncio.sleep(0.1)
    return None


async def run() -> list[Figure]:
    bodies = storm_bodies()
    async with pg_database() as url:
        if url is None:
            return []
        async with tally_logs(), running(url, settings=SETTINGS) as h:
            started = time.perf_counter()
            sent = await drive(
                h.http, f"{h.bot_url}/alerts/alertmanager", bodies, HEADERS, CONCURRENCY,
                within=SEND_WITHIN,
            )  # fmt: skip
            alerts = len(sent.latencies_ms) * PER_PAYLOAD
            print(
                f"  sent {len(sent.latencies_ms)} webhooks ({alerts} alerts) in "
                f"{sent.seconds:.1f}s = {alerts / sent.seconds:.0f} alerts/s; "
                f"answers {dict(sent.statuses)}; rooms ready by then: {ready(h)}"
            )
            took = await wait_ready(h, started)
            await asyncio.sleep(SETTLE)
            calls = calls_by_method(h.ws.calls)
            rooms = war_rooms(h)
            ready_rooms = ready(h)
            dr_lines = len(h.bot_messages("dr-war-room"))
            incidents = (await rows(url, select(func.count()).select_from(Incident)))[0][0]
            owed = await outbox_states(url)
    print(f"  Slack calls by method: {dict(sorted(calls.items()))}")
    print(f"  outbox at the end (method, state): {dict(sorted(owed.items()))}")
    floor = pacing_floor(GROUPS)
    if took is None:
        print(f"  only {ready_rooms} of {GROUPS} rooms ready after {READY_WITHIN:.0f}s")
    ready_name = (
        "time until all 50 rooms ready"
        if took is not None
        else f"rooms ready cap hit ({ready_rooms}/{GROUPS} ready)"
    )
    webhooks = len(sent.latencies_ms)
    return [
        Figure("incidents", incidents, "", "alert groups (expected)", GROUPS),
        Figure("war rooms", len(rooms), "", "alert groups (at most)", GROUPS),
        Figure("rooms ready", ready_rooms, "", "alert groups", GROUPS),
        Figure(
            "conversations.create calls", calls["conversations.create"], "", "rooms", len(rooms)
        ),
        Figure(
            "chat.postMessage calls",
            calls["chat.postMessage"],
            "",
            "intro + announcement per incident",
            2 * incidents,
        ),
        Figure(
            "chat.update calls",
            calls["chat.update"],
            "",
            "undebounced: one per room-updating webhook",
            max(webhooks - incidents, 0),
        ),
        Figure("DR-channel lines", dr_lines, "", "incidents", incidents),
        Figure(
            "slowest intake answer",
            max(sent.latencies_ms),
            "ms",
            "median intake answer",
            percentile(sent.latencies_ms, 0.5),
        ),
        Figure(
            ready_name,
            took if took is not None else READY_WITHIN,
            "s",
            "pacing floor at Slack's tiers",
            floor,
        ),
    ]
