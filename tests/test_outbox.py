"""The outbox: Slack trouble delays work and never loses it; order holds; replicas share it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import Settings, SlackSettings, WarRoomSettings
from bot.db.engine import create_engine, session_factory
from bot.db.models import AlertGroup, OutboxMessage
from bot.db.outbox import Job, claim, enqueue, mark_sent
from bot.infra.time_source import ManualClock, ScaledClock
from bot.outbox.requests import GROUP_POST
from bot.outbox.worker import After, OpContext
from bot.sandbox.workspace import Channel, Fault
from bot.web.keys import OUTBOX
from tests.db_reads import incidents, rows, timeline
from tests.harness import Harness, eventually, running

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
FIRING = json.loads((FIXTURES / "v4-firing.json").read_text())
T0 = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
INVITING = Settings(slack=SlackSettings(war_room=WarRoomSettings(invite_users=("U0IC",))))


def calls(h: Harness, method: str) -> list[dict[str, Any]]:
    return [params for name, params in h.ws.calls if name == method]


async def outbox_states(database_url: str) -> dict[str, int]:
    states: dict[str, int] = {}
    for row in await rows(database_url, select(OutboxMessage.state)):
        states[row.state] = states.get(row.state, 0) + 1
    return states


async def ready(h: Harness, database_url: str) -> Channel:
    async def check() -> Channel | None:
        stored = [i for i in await incidents(database_url) if i.channel_id]
        if len(stored) != 1:
            return None
        room = h.ws.channels[stored[0].channel_id]
        return room if room.pins else None

    return await eventually(check, within=25)


def room_methods_in_order(h: Harness, channel_id: str) -> list[str]:
    keys = ("channel", "channel_id")
    return [
        name
        for name, params in h.ws.calls
        if any(params.get(k) == channel_id for k in keys) and name != "conversations.info"
    ]


async def test_rate_limits_and_server_errors_delay_the_room_but_never_lose_it(
    database_url: str,
) -> None:
    async with running(database_url, settings=INVITING) as h:
        h.ws.faults["conversations.create"] = Fault(status=503, remaining=2)
        h.ws.faults["chat.postMessage"] = Fault(status=429, retry_after=1, remaining=2)
        h.ws.faults["conversations.setTopic"] = Fault(status=500, remaining=1)
        status, _ = await h.alert("alertmanager", FIRING)
        assert status == 202
        room = await ready(h, database_url)
        # Three tries to create, one channel; the room's steps in the order they were owed.
        assert len(calls(h, "conversations.create")) == 3 and len(rooms_named(h, room.name)) == 1
        order = room_methods_in_order(h, room.id)
        firsts = [order.index(m) for m in ("conversations.invite", "conversations.setTopic")]
        assert firsts == sorted(firsts) and order.index("pins.add") > order.index(
            "chat.postMessage"
        )
        intros = h.intros(room)
        assert len(intros) == 1 and room.pins[0] == intros[0].ts
        await eventually(lambda: h.bot_messages("dr-war-room"))
        await eventually(lambda: _settled(database_url))
        assert (await outbox_states(database_url)).get("failed", 0) == 0


async def _settled(database_url: str) -> bool:
    states = await outbox_states(database_url)
    return set(states) <= {"sent", "failed"} or False


def rooms_named(h: Harness, name: str) -> list[Channel]:
    return [c for c in h.ws.channels.values() if c.name == name]


async def test_a_slack_outage_only_delays_the_room(database_url: str) -> None:
    async with running(database_url) as h:
        h.ws.faults["conversations.create"] = Fault(status=500, remaining=-1)
        await h.alert("alertmanager", FIRING)
        await eventually(lambda: len(calls(h, "conversations.create")) >= 2 or None, within=10)
        [stored] = await incidents(database_url)
        assert stored.channel_id is None and stored.room_state == "opening"
        del h.ws.faults["conversations.create"]  # Slack is back
        room = await ready(h, database_url)
        assert room.name.endswith("rentguy-queue-backlog-1-240-jobs-critical-1-000")


async def test_a_permanent_refusal_is_kept_and_said_where_people_look(database_url: str) -> None:
    async with running(database_url) as h:
        h.ws.faults["conversations.create"] = Fault(status=400, remaining=-1)
        await h.alert("alertmanager", FIRING)
        [notice] = await eventually(lambda: h.bot_messages("dr-war-room"))
        assert "Could not open a war room" in notice.text and "http_error" in notice.text
        assert len(calls(h, "conversations.create")) == 1  # refused for good: not hammered
        [stored] = await incidents(database_url)
        assert stored.room_state == "failed"
        kinds = [e.kind for e in await timeline(database_url, stored.id)]
        assert "war_room.failed" in kinds
        states = await eventually(lambda: _settled_states(database_url))
        assert states.get("failed") == 1


async def _settled_states(database_url: str) -> dict[str, int] | None:
    states = await outbox_states(database_url)
    return states if set(states) <= {"sent", "failed"} else None


async def test_posts_to_one_channel_keep_their_order_through_a_rate_limit(
    database_url: str,
) -> None:
    async with running(database_url) as h:
        h.ws.faults["chat.postMessage"] = Fault(status=429, retry_after=1, remaining=1)
        queues = ["alpha", "bravo", "charlie", "delta"]
        for queue in queues:
            body = {
                "event_action": "trigger",
                "dedup_key": f"order-{queue}",
                "payload": {"summary": f"{queue} slow", "severity": "warning", "source": queue},
            }
            assert (await h.alert("generic", body))[0] == 202
        posts = await eventually(
            lambda: (lambda p: p if len(p) == len(queues) else None)(
                h.bot_messages("alerts-queues")
            ),
            within=15,
        )
        assert [next(q for q in queues if q in m.text) for m in posts] == queues


async def test_replicas_share_the_outbox_and_open_one_room(database_url: str) -> None:
    async with running(database_url, replicas=3) as h:
        for _ in range(2):  # Alertmanager HA: each replica of the bot gets the same group
            answers = await asyncio.gather(
                *(h.alert("alertmanager", FIRING, replica=r) for r in range(3))
            )
            assert [status for status, _ in answers] == [202, 202, 202]
        warning = {  # not a queue: it posts in the alerts channel instead of joining the room
            "event_action": "trigger",
            "dedup_key": "replicated",
            "payload": {"summary": "Mollie webhooks slow", "severity": "warning", "source": "api"},
        }
        await asyncio.gather(*(h.alert("generic", warning, replica=r) for r in range(3)))
        room = await ready(h, database_url)
        await eventually(lambda: _settled(database_url))
        await eventually(lambda: h.bot_messages("dr-war-room"))
        assert len(calls(h, "conversations.create")) == 1
        await eventually(lambda: len(room.pins) == 2 or None)  # the intro, then the clock
        assert len(calls(h, "pins.add")) == 2
        assert len(h.intros(room)) == 1
        assert sum("*Clock for incident" in m.text for m in room.messages) == 1
        assert len(h.bot_messages("dr-war-room")) == 1
        assert len(h.bot_messages("alerts-queues")) == 1


async def test_claims_keep_order_per_key_and_leases_expire(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    lease = timedelta(seconds=60)
    try:
        async with sessions.begin() as session:
            for n in range(3):
                await enqueue(
                    session,
                    method="chat.postMessage",
                    payload={"n": n},
                    ordering_key="channel:a",
                    now=T0,
                )
            await enqueue(
                session,
                method="chat.postMessage",
                payload={"n": 9},
                ordering_key="channel:b",
                now=T0,
            )
            await enqueue(
                session,
                method="chat.postMessage",
                payload={"n": 5},
                ordering_key="channel:c",
                now=T0,
                not_before=T0 + timedelta(minutes=1),
            )
        async with sessions.begin() as session:
            first = await claim(session, "w1", T0, lease=lease, limit=10)
        assert sorted(j.payload["n"] for j in first) == [0, 9]  # heads only; c is not due
        async with sessions.begin() as session:
            assert (
                await claim(session, "w2", T0 + timedelta(seconds=59), lease=lease, limit=10) == []
            )
        async with sessions.begin() as session:  # w1 died: after its lease, w2 takes over
            again = await claim(session, "w2", T0 + timedelta(seconds=61), lease=lease, limit=10)
        assert sorted(j.payload["n"] for j in again) == [0, 5, 9]
        assert all(j.attempts == 2 for j in again if j.payload["n"] in (0, 9))
        async with sessions.begin() as session:
            for job in again:
                await mark_sent(session, job.id, T0, None)
        async with sessions.begin() as session:
            nxt = await claim(session, "w2", T0 + timedelta(seconds=62), lease=lease, limit=10)
        assert [j.payload["n"] for j in nxt] == [1]
    finally:
        await engine.dispose()


async def test_debounced_rows_merge_until_claimed(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        for n in range(3):
            async with sessions.begin() as session:
                await enqueue(
                    session,
                    method="room.summary",
                    payload={"n": n},
                    ordering_key="room:1",
                    now=T0,
                    dedup_key="summary:1",
                )
        async with sessions.begin() as session:
            await enqueue(
                session,
                method="group.post",
                payload={"new": False},
                ordering_key="channel:x",
                now=T0,
                dedup_key="group:1",
            )
            await enqueue(
                session,
                method="group.post",
                payload={"new": True},
                ordering_key="channel:x",
                now=T0,
                dedup_key="group:1",
                replace=True,
            )
        stored = await rows(
            engine.url.render_as_string(hide_password=False),
            select(OutboxMessage.payload, OutboxMessage.method),
        )
        assert sorted((r.method, json.dumps(r.payload)) for r in stored) == [
            ("group.post", '{"new": true}'),
            ("room.summary", '{"n": 0}'),
        ]
        async with sessions.begin() as session:
            await claim(session, "w", T0, lease=timedelta(seconds=60), limit=10)
        async with sessions.begin() as session:  # claimed: the next change queues a new row
            await enqueue(
                session,
                method="room.summary",
                payload={"n": 3},
                ordering_key="room:1",
                now=T0,
                dedup_key="summary:1",
            )
        assert len(await rows(database_url, select(OutboxMessage.id))) == 3
    finally:
        await engine.dispose()


ROOM_SLUG = "rentguy-queue-backlog-1-240-jobs-critical-1-000"


async def test_a_retry_adopts_the_room_its_cut_off_attempt_created(database_url: str) -> None:
    async with running(database_url) as h:
        today = datetime.now(ZoneInfo(Settings().timezone)).strftime("%Y%m%d")
        name = f"inc-{today}-{ROOM_SLUG}"
        # The first attempt's channel exists (made by the bot), but its answer never came back.
        h.ws.channels["CLOST"] = Channel(id="CLOST", name=name, created=0, creator="U0BOT")
        h.ws.channels["CLOST"].members.append("U0BOT")
        h.ws.faults["conversations.create"] = Fault(status=503, remaining=1)
        await h.alert("alertmanager", FIRING)
        room = await ready(h, database_url)
        assert room.id == "CLOST"
        assert not [c for c in h.ws.channels.values() if c.name.startswith(f"{name}-")]


async def test_someone_elses_channel_is_never_adopted(database_url: str) -> None:
    async with running(database_url) as h:
        today = datetime.now(ZoneInfo(Settings().timezone)).strftime("%Y%m%d")
        name = f"inc-{today}-{ROOM_SLUG}"
        h.ws.channels["CMINE"] = Channel(id="CMINE", name=name, created=0, creator="U0LEAD")
        h.ws.faults["conversations.create"] = Fault(status=503, remaining=1)
        await h.alert("alertmanager", FIRING)
        room = await ready(h, database_url)
        assert room.name == f"{name}-2"


async def test_a_paced_post_waits_real_seconds_on_a_fast_drill_clock(database_url: str) -> None:
    """Pacing is about Slack's real rate: on a clock running 100 times faster (a drill at
    --speed 100) a post deferred for 10 real seconds waits 1,000 clock seconds, not 10."""
    slow_posts = SlackSettings(rate_per_minute={"chat.postMessage": 6.0})  # 10 s a post
    clock = ScaledClock(100)
    async with running(database_url, settings=Settings(slack=slow_posts), clock=clock) as h:
        for n in range(8):  # more than the bucket's burst of 5, all to #alerts-queues
            body = {
                "event_action": "trigger",
                "dedup_key": f"paced-{n}",
                "payload": {"summary": f"queue {n} slow", "severity": "warning", "source": "q"},
            }
            assert (await h.alert("generic", body))[0] == 202

        async def deferred() -> list[Any]:
            found = await rows(
                database_url, select(OutboxMessage).where(OutboxMessage.last_error == "paced")
            )
            return [r for r in found if r.state == "pending"]

        paced = await eventually(deferred)
        ahead = min(r.not_before for r in paced) - clock.now()
        assert ahead > timedelta(seconds=300), ahead
        assert len(h.bot_messages("alerts-queues")) <= 6


async def test_a_post_slack_took_while_the_database_failed_is_recorded_not_sent_again(
    database_url: str,
) -> None:
    """The post went out, then recording it failed (the database went away): once the
    database answers again the worker records that post instead of posting it twice."""
    async with running(database_url) as h:
        worker = h.app[OUTBOX]
        post_group = worker.handlers[GROUP_POST]
        failures: list[int] = []

        async def recording_fails_once(ctx: OpContext, job: Job) -> After | None:
            after = await post_group(ctx, job)

            async def record(session: AsyncSession) -> dict[str, Any] | None:
                if not failures:
                    failures.append(job.id)
                    raise OperationalError("UPDATE alert_groups", {}, OSError("connection lost"))
                return await after(session) if after is not None else None

            return record

        worker.handlers[GROUP_POST] = recording_fails_once
        body = {
            "event_action": "trigger",
            "dedup_key": "once-only",
            "payload": {"summary": "rentguy slow", "severity": "warning", "source": "rentguy"},
        }
        assert (await h.alert("generic", body))[0] == 202
        await eventually(lambda: failures)
        await eventually(lambda: outbox_states_settled(database_url), within=15)

        posts = h.bot_messages("alerts-queues")
        assert [m.text.count("rentguy slow") > 0 for m in posts] == [True]
        [group] = await rows(database_url, select(AlertGroup.message_ts))
        assert group.message_ts == posts[0].ts  # the post Slack took, recorded late
        assert len(calls(h, "chat.postMessage")) == 1


async def outbox_states_settled(database_url: str) -> bool:
    states = await outbox_states(database_url)
    return bool(states) and set(states) == {"sent"}


async def test_pacing_sleeps_through_its_waits_on_a_clock_moved_by_hand(
    database_url: str,
) -> None:
    """A deferral would wait on the app's clock, which a test moves by hand: every post
    still goes out, paced in real time, although nobody moves the clock."""
    quick_posts = SlackSettings(rate_per_minute={"chat.postMessage": 20.0})  # 3 s a post
    clock = ManualClock(T0)
    async with running(database_url, settings=Settings(slack=quick_posts), clock=clock) as h:
        for n in range(7):  # after a burst of 5, the 6th and 7th wait 3 s or more
            body = {
                "event_action": "trigger",
                "dedup_key": f"by-hand-{n}",
                "payload": {"summary": f"queue {n} slow", "severity": "warning", "source": "q"},
            }
            assert (await h.alert("generic", body))[0] == 202
        posts = await eventually(
            lambda: (lambda p: p if len(p) == 7 else None)(h.bot_messages("alerts-queues")),
            within=30,
        )
        assert clock.now() == T0
        assert sorted(m.text.split("queue ")[1][0] for m in posts) == [str(n) for n in range(7)]
