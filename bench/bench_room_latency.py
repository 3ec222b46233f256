"""Alert to war room ready, p50/p95, on PostgreSQL against the Slack sandbox.

30 times, one after the other, a critical Alertmanager webhook for a new alert group is
posted; the clock runs from sending until the sandbox shows the room's intro pinned
(polled every 10 ms). The reference is the bare Slack-call sequence a room needs
(conversations.create, conversations.invite, conversations.setTopic, chat.postMessage,
pins.add) made directly with slack_sdk's AsyncWebClient against the same sandbox, in the
same run, interleaved with the bot's rooms. Slack pacing is raised to 6,000 calls/min for
every method (settings `slack.rate_per_minute`), so the figure is the bot's own latency,
not Slack's rate tiers (bench_storm measures those). Aim: p95 under 2 s.

A second figure sends each alert as an Alertmanager HA pair/triple does: the same webhook 3
times at once (6 rooms, fewer because each takes seconds); the reference is the same bare
sequence.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from bench.figures import Figure, percentile
from bench.support import calls_by_method, outbox_states, payload, pg_database, tally_logs
from bot.config.settings import Settings, SlackSettings, WarRoomSettings, default_slack_rates
from bot.sandbox.workspace import Channel
from tests.harness import Harness, running

ROOMS = 30
WARMUP = 2
POLL = 0.01
ROOM_WITHIN = 20.0
RUN_WITHIN = 120.0
RESPONDER = "U0IC"
FAST = 6000.0
AIM_P95_MS = 2000.0
HA_COPIES = 3
HA_ROOMS = 6
SETTINGS = replace(
    Settings(),
    maintenance=(),
    slack=SlackSettings(
        war_room=WarRoomSettings(invite_users=(RESPONDER,)),
        rate_per_minute={
            **{method: FAST for method in default_slack_rates()},
            "conversations.invite": FAST,
        },
    ),
)


def _new_ready_room(h: Harness, known: set[str]) -> Channel | None:
    for channel in h.ws.channels.values():
        if channel.id not in known and channel.name.startswith("inc-") and channel.pins:
            return channel
    return None


async def bot_room(h: Harness, index: int, copies: int = 1) -> float:
    """Milliseconds from posting a new group's critical alert (`copies` times at once, as
    Alertmanager replicas do) to its room's pinned intro."""
    known = set(h.ws.channels)
    body = json.dumps(payload("r", index, "critical", size=2)).encode()
    started = time.perf_counter()
    answers = await asyncio.gather(*(h.alert("alertmanager", body) for _ in range(copies)))
    actions = sorted(answer["groups"][0]["action"] for _, answer in answers)
    assert {status for status, _ in answers} == {202}, answers
    assert actions[0] == "open_incident" and actions.count("open_incident") == 1, actions
    while (room := _new_ready_room(h, known)) is None:
        if time.perf_counter() - started > ROOM_WITHIN:
            raise AssertionError(f"no room ready for alert group {index} in {ROOM_WITHIN}s")
        await asyncio.sleep(POLL)
    took = (time.perf_counter() - started) * 1000
    assert RESPONDER in room.members, f"#{room.name}: {RESPONDER} not invited"
    return took


async def bare_room(slack: AsyncWebClient, index: int) -> float:
    """Milliseconds for the same five calls made directly, one after the other."""
    started = time.perf_counter()
    created = await slack.conversations_create(name=f"ref-{index:04d}-bare-sequence")
    channel = created["channel"]["id"]
    await slack.conversations_invite(channel=channel, users=RESPONDER)
    await slack.conversations_setTopic(channel=channel, topic=":red_circle: CRITICAL | bench")
    posted = await slack.chat_postMessage(
        channel=channel,
        text="Incident: svc-r error rate above threshold",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*Incident* bench"}}],
    )
    await slack.pins_add(channel=channel, timestamp=posted["ts"])
    return (time.perf_counter() - started) * 1000


async def run() -> list[Figure]:
    async with pg_database() as url:
        if url is None:
            return []
        async with tally_logs(), running(url, settings=SETTINGS) as h:
            slack = AsyncWebClient(
                token=h.ws.bot_token,
                base_url=f"{h.sandbox_url}/api/",
                session=h.http,
                retry_handlers=[],
            )
            for i in range(WARMUP):
                await bot_room(h, 1000 + i)
                await bare_room(slack, 1000 + i)
            bot: list[float] = []
            bare: list[float] = []
            started = time.perf_counter()
            for i in range(ROOMS):
                if time.perf_counter() - started > RUN_WITHIN:
                    print(f"  stopped after {i} rooms: {RUN_WITHIN:.0f}s spent")
                    break
                bot.append(await bot_room(h, i))
                bare.append(await bare_room(slack, i))
            seconds = time.perf_counter() - started
            ha = [await bot_room(h, 2000 + i, copies=HA_COPIES) for i in range(HA_ROOMS)]
            await asyncio.sleep(1.0)
            calls = calls_by_method(h.ws.calls)
            owed = await outbox_states(url)
    print(f"  {len(bot)} rooms (+{WARMUP} warm-up) and as many bare sequences in {seconds:.1f}s")
    print(f"  bot rooms ms: {' '.join(f'{v:.0f}' for v in bot)}")
    print(f"  bot rooms, webhook sent {HA_COPIES}x at once, ms: {' '.join(f'{v:.0f}' for v in ha)}")
    print(f"  Slack calls by method: {dict(sorted(calls.items()))}")
    print(f"  outbox at the end (method, state): {dict(sorted(owed.items()))}")
    p95, ha_p95 = percentile(bot, 0.95), percentile(ha, 0.95)
    for label, value in (("single webhook", p95), (f"{HA_COPIES} HA copies", ha_p95)):
        verdict = "met" if value < AIM_P95_MS else "MISSED"
        print(f"  aim p95 < {AIM_P95_MS:.0f} ms, {label}: {verdict} ({value:.0f} ms)")
    return [
        Figure(
            "alert -> room ready p50",
            percentile(bot, 0.5),
            "ms",
            "bare 5-call sequence p50",
            percentile(bare, 0.5),
        ),
        Figure(
            "alert -> room ready p95",
            p95,
            "ms",
            "bare 5-call sequence p95",
            percentile(bare, 0.95),
        ),
        Figure("alert -> room ready max", max(bot), "ms", "bare 5-call sequence max", max(bare)),
        Figure(
            f"alert sent x{HA_COPIES} at once (HA) -> room ready p95",
            ha_p95,
            "ms",
            "bare 5-call sequence p95",
            percentile(bare, 0.95),
        ),
    ]
