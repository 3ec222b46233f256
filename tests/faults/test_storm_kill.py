"""SIGKILL a `warroom serve` in the middle of an alert storm, then restart it.

Two real processes share one PostgreSQL and the Slack sandbox (an HTTP server in the test).
Senders spray Alertmanager alerts — critical groups (each an incident with a war room and an
escalation clock) and warning groups (posts in #alerts-queues) — at whichever processes are
alive, retrying elsewhere when a connection dies, as Alertmanager does. Slack is slow to
create channels, so the killed process dies holding room builds half done (a channel Slack
created that was never recorded). Afterwards:

- every alert that got a 202 is in the database (once: a repeat never makes a second row);
- each critical group has one incident and one war-room channel — never two;
- the outbox drains: no row pending or in flight, none refused;
- each escalation step fired once, with one timeline event, across the kill.

The killed process's claimed rows wait for their 180-second lease to run out; the test does
not wait 3 minutes but moves those leases' end into the past (what the clock would do).
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.db.engine import create_engine, session_factory
from bot.db.models import Alert, AlertGroup, Incident, OutboxMessage
from tests.db_reads import rows
from tests.harness import eventually
from tests.processes import (
    STEPS,
    Cluster,
    Serve,
    assert_each_step_once,
    cluster,
    config_text,
    deadlines,
    wait_all_fired,
)

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

CRITICAL_GROUPS = 8
WARNING_GROUPS = 6
ALERTS_PER_GROUP = 20
SENDERS = 8
CLOCK_BASE = 1  # the first step falls due 1 s after an incident opens, the last 5 s
CREATE_DELAY = 5.0  # Slack takes this long to create a channel during the storm
RATES = ", ".join(
    f"{method}: 6000"
    for method in (
        "conversations.create", "chat.postMessage", "chat.update", "conversations.invite",
        "conversations.setTopic", "pins.add", "bookmarks.add", "conversations.list",
    )
)  # fmt: skip


@dataclass(frozen=True)
class StormAlert:
    group: int
    n: int
    critical: bool

    @property
    def fingerprint(self) -> str:
        return f"alertmanager:storm-{self.group:02d}-{self.n}"

    @property
    def title(self) -> str:
        return f"Storm group {self.group:02d}"

    def body(self) -> dict[str, Any]:
        severity = "critical" if self.critical else "warning"
        return {
            "version": "4",
            "status": "firing",
            "receiver": "warroom",
            "groupKey": f'{{}}:{{alertname="Storm{self.group:02d}"}}',
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": f"Storm{self.group:02d}",
                        "severity": severity,
                        "instance": f"host-{self.n}",
                    },
                    "annotations": {"summary": self.title},
                    "fingerprint": self.fingerprint.removeprefix("alertmanager:"),
                }
            ],
        }


def storm_alerts() -> list[StormAlert]:
    alerts = [
        StormAlert(group, n, critical=group < CRITICAL_GROUPS)
        for group in range(CRITICAL_GROUPS + WARNING_GROUPS)
        for n in range(ALERTS_PER_GROUP)
    ]
    random.Random(20261123).shuffle(alerts)
    return alerts


@dataclass
class Storm:
    """Senders taking alerts off a list. The middle part waits until the kill is near (so
    alerts are in flight when it comes), the last part for the restarted process."""

    http: aiohttp.ClientSession
    token: str
    live: list[Serve]
    alerts: list[StormAlert]
    after_armed: int  # alerts from this index on wait for `armed`
    after_restart: int  # ... and from this one on for `restarted`
    armed: asyncio.Event = field(default_factory=asyncio.Event)
    restarted: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: list[StormAlert] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    done: int = 0
    in_flight: Counter[str] = field(default_factory=Counter)  # per process URL
    _next: int = 0
    _turn: int = 0

    async def sender(self) -> None:
        while self._next < len(self.alerts):
            index = self._next
            self._next += 1
            if index >= self.after_armed:
                await self.armed.wait()
            if index >= self.after_restart:
                await self.restarted.wait()
            await self.deliver(self.alerts[index])
            self.done += 1
            await asyncio.sleep(0.02)

    async def deliver(self, alert: StormAlert) -> None:
        """POST until some process answers (a dead connection is retried on another)."""
        for _attempt in range(20):
            self._turn += 1
            serve = self.live[self._turn % len(self.live)]
            self.in_flight[serve.url] += 1
            try:
                async with self.http.post(
                    f"{serve.url}/alerts/alertmanager",
                    json=alert.body(),
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=aiohttp.ClientTimeout(total=20),
                ) as resp:
                    await resp.read()
                    self.answers[str(resp.status)] += 1
                    if resp.status == 202:
                        self.accepted.append(alert)
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.answers[type(exc).__name__] += 1
            finally:
                self.in_flight[serve.url] -= 1
            await asyncio.sleep(0.1)
        raise AssertionError(f"{alert} was never accepted: {self.answers}")


async def sandbox_fault(http: aiohttp.ClientSession, group: Cluster, **fault: Any) -> None:
    sandbox = group.env["SLACK_API_URL"].removesuffix("/api/")
    async with http.post(f"{sandbox}/_sandbox/faults", json=fault) as resp:
        assert resp.status == 200, await resp.text()


async def clear_faults(http: aiohttp.ClientSession, group: Cluster) -> None:
    sandbox = group.env["SLACK_API_URL"].removesuffix("/api/")
    async with http.delete(f"{sandbox}/_sandbox/faults") as resp:
        assert resp.status == 200, await resp.text()


def held_by(serve: Serve) -> Any:
    """Outbox rows in flight under `serve`'s claim (its worker id is host:pid:random)."""
    return (OutboxMessage.state == "sending") & OutboxMessage.claimed_by.like(
        f"%:{serve.proc.pid}:%"
    )


async def room_creates_held(url: str, serve: Serve) -> int:
    [(count,)] = await rows(
        url,
        select(func.count())
        .select_from(OutboxMessage)
        .where(held_by(serve), OutboxMessage.method == "room.create"),
    )
    return int(count)


async def expire_leases(url: str, serve: Serve) -> list[str]:
    """End the dead process's leases now, as 180 s of waiting would; the methods it held."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            held = list(await session.scalars(select(OutboxMessage.method).where(held_by(serve))))
            await session.execute(
                update(OutboxMessage)
                .where(held_by(serve))
                .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        return held
    finally:
        await engine.dispose()


async def outbox_states(url: str) -> Counter[str]:
    found = await rows(url, select(OutboxMessage.state, func.count()).group_by("state"))
    return Counter({state: int(count) for state, count in found})


async def drained(url: str) -> bool:
    states = await outbox_states(url)
    return states["pending"] == 0 and states["sending"] == 0


async def test_sigkill_mid_storm_loses_nothing_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with cluster(database_url, tmp_path, base=CLOCK_BASE) as group:
        config = config_text(CLOCK_BASE) + f"slack:\n  rate_per_minute: {{{RATES}}}\n"
        (tmp_path / "warroom.yaml").write_text(config)
        victim, survivor = await group.start(), await group.start()
        alerts = storm_alerts()
        async with aiohttp.ClientSession() as http:
            await sandbox_fault(
                http, group, method="conversations.create", status=200,
                delay_seconds=CREATE_DELAY, remaining=-1,
            )  # fmt: skip
            storm = Storm(
                http,
                group.env["WARROOM_ALERT_TOKEN"],
                live=[victim, survivor],
                alerts=alerts,
                after_armed=len(alerts) // 4,
                after_restart=len(alerts) * 3 // 4,
            )
            senders = [asyncio.create_task(storm.sender()) for _ in range(SENDERS)]
            try:
                # Kill mid-storm, once clock steps are firing and while the victim is building
                # rooms (Slack is slow to create channels); the rest of the storm goes on.
                async def building() -> bool:
                    return (
                        storm.done >= 5
                        and any(d.fired_at for d in await deadlines(database_url))
                        and await room_creates_held(database_url, victim) > 0
                    )

                await eventually(building, within=30)
                storm.armed.set()
                await eventually(lambda: storm.in_flight[victim.url] > 0, within=10)
                victim.proc.send_signal(signal.SIGKILL)
                await victim.proc.wait()
                storm.live.remove(victim)
                assert storm.done <= storm.after_restart  # a quarter of the storm is still to come
                stranded = await expire_leases(database_url, victim)
                assert "room.create" in stranded, stranded

                storm.live.append(await group.start())
                storm.restarted.set()
                await asyncio.gather(*senders)
            finally:
                for task in senders:
                    task.cancel()
            await clear_faults(http, group)

        # Catching up: every room built, every step fired, the outbox empty.
        await wait_all_fired(database_url, CRITICAL_GROUPS * len(STEPS), within=60)
        await eventually(lambda: drained(database_url), within=60)
        assert all(s.proc.returncode is None for s in storm.live)

        # 1. Every 202 is stored, each alert once.
        stored = Counter(r.fingerprint for r in await rows(database_url, select(Alert.fingerprint)))
        accepted = {a.fingerprint for a in storm.accepted}
        assert len(accepted) == len(alerts)
        # Answers were 202, or no answer from the killed process — never a 5xx.
        assert {k for k in storm.answers if k.isdigit()} == {"202"}, storm.answers
        assert accepted <= set(stored), sorted(accepted - set(stored))
        assert set(stored.values()) == {1}, [f for f, n in stored.items() if n > 1]

        # 2. One incident and one war room per critical group.
        incidents = await rows(
            database_url, select(Incident.id, Incident.title, Incident.channel_id)
        )
        assert sorted(i.title for i in incidents) == sorted(
            f"Storm group {g:02d}" for g in range(CRITICAL_GROUPS)
        )
        groups = await rows(
            database_url, select(AlertGroup.title, AlertGroup.incident_id, AlertGroup.message_ts)
        )
        critical = [g for g in groups if int(g.title.split()[-1]) < CRITICAL_GROUPS]
        warning = [g for g in groups if g not in critical]
        assert len({g.incident_id for g in critical}) == CRITICAL_GROUPS
        assert len(warning) == WARNING_GROUPS and all(g.incident_id is None for g in warning)
        # Each warning group has its post in #alerts-queues.
        alerts_channel = group.ws.channel_by_name("alerts-queues")
        assert alerts_channel is not None
        posted = {m.ts for m in alerts_channel.messages}
        assert all(g.message_ts in posted for g in warning), warning
        rooms = [c for c in group.ws.channels.values() if c.name.startswith("inc-")]
        per_group = Counter(
            m.group(1) for c in rooms if (m := re.search(r"storm-group-(\d+)", c.name))
        )
        assert len(rooms) == CRITICAL_GROUPS and set(per_group.values()) == {1}, [
            c.name for c in rooms
        ]
        assert {i.channel_id for i in incidents} == {c.id for c in rooms}

        # 3. The outbox drained; Slack refused nothing.
        states = await outbox_states(database_url)
        assert set(states) == {"sent"}, states

        # 4. Each clock step fired once (and once on the timeline), across the kill.
        await assert_each_step_once(database_url, CRITICAL_GROUPS)
