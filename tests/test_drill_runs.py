"""A drill started from Slack outlives the replica playing it: the run is noted with a lease
in `drill_runs`, and another replica plays on from the steps done — at once when the first
one stops cleanly, after the lease when it dies."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.settings import Settings
from bot.db.drill_runs import LEASE, claim_orphans, create_run, end_run, record_progress
from bot.db.engine import session_factory
from bot.db.models import DrillRun
from bot.drill.start import hand_on_drills, resume_drills
from bot.infra.time_source import ManualClock
from bot.runtime.services import Services
from bot.web.keys import SERVICES
from tests.db_reads import rows
from tests.drills import SCENARIO, T0, drill_rooms, texts, ticking
from tests.harness import Harness, eventually, running


async def test_a_run_is_claimed_only_after_its_lease_and_only_once(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        run = await create_run(
            session, mark="drill:q:1", scenario="q", invitees=("U1",), started_at=T0, worker="a"
        )
    async with sessions.begin() as session:
        assert await claim_orphans(session, "b", T0 + LEASE - timedelta(seconds=1)) == []
    async with sessions.begin() as session:
        kept = await record_progress(session, run.id, "a", T0 + timedelta(seconds=20),
                                     steps_done=2, incident_id=None)  # fmt: skip
    assert kept  # the lease now runs to +50 s
    async with sessions.begin() as session:
        assert await claim_orphans(session, "b", T0 + LEASE + timedelta(seconds=1)) == []
    later = T0 + timedelta(seconds=51)
    async with sessions.begin() as session:
        [claimed] = await claim_orphans(session, "b", later)
        assert (claimed.steps_done, claimed.invitees, claimed.claimed_by) == (2, ["U1"], "b")
    async with sessions.begin() as session:
        assert await claim_orphans(session, "c", later) == []  # b holds it now
        # a comes back: the run is no longer its own, so it stops playing
        assert not await record_progress(session, run.id, "a", later, steps_done=3,
                                         incident_id=None)  # fmt: skip
        await end_run(session, run.id)
    async with sessions.begin() as session:
        assert await claim_orphans(session, "c", later + timedelta(hours=1)) == []


def said_while_no_room(caplog: pytest.LogCaptureFixture) -> bool:
    """A player said an inject before the drill room existed (it waits for the room)."""
    lines = [str(getattr(r, "line", "")) for r in caplog.records if r.name == "bot.drill.start"]
    return any("no drill room yet" in line for line in lines)


def player_services(h: Harness, replica: int) -> Services:
    return h.replicas[replica][1][SERVICES]


async def started_on_a(h: Harness, tmp_path: Path) -> tuple[Services, Services]:
    a, b = player_services(h, 0), player_services(h, 1)
    await h.slash("/incident drill rentguy-drill", user="U0ONCALL")
    await eventually(lambda: a.drills)
    room = await eventually(lambda: drill_rooms(h)[0] if drill_rooms(h) else None)
    await eventually(lambda: h.intros(room))

    async def first_step_noted() -> list[Any]:
        return [r for r in await stored_runs(h) if r.steps_done == 1]

    [run] = await eventually(first_step_noted)
    assert run.claimed_by == a.replica and run.incident_id is not None
    assert not b.drills
    return a, b


async def stored_runs(h: Harness) -> list[Any]:
    return await rows(h.runtime.database_url, select(DrillRun))


def team_settings(tmp_path: Path) -> Settings:
    (tmp_path / "rentguy-drill.yaml").write_text(
        SCENARIO.replace("name: test-drill", "name: rentguy-drill")
    )
    return Settings(drills_dir=str(tmp_path))


@asynccontextmanager
async def drill_on_two_replicas(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Harness, ManualClock, Services, Services]]:
    """Two replicas; the team's drill started from Slack, played by the first (a)."""
    clock = ManualClock(T0)
    settings = team_settings(tmp_path)
    async with running(database_url, settings=settings, clock=clock, replicas=2) as h:
        a, b = await started_on_a(h, tmp_path)
        yield h, clock, a, b


async def test_a_replica_that_stops_hands_its_drill_on_and_the_report_comes_once(
    database_url: str, tmp_path: Path
) -> None:
    async with drill_on_two_replicas(database_url, tmp_path) as (h, clock, a, b):
        await hand_on_drills(a)  # what a stopping replica does
        assert not a.drills

        async def b_plays() -> bool:
            await resume_drills(b)
            return bool(b.drills)

        await eventually(b_plays)
        room = drill_rooms(h)[0]
        await eventually(lambda: "another one plays on (1 of 3 steps done)" in texts(room))
        clock.advance(timedelta(seconds=31))
        said = await eventually(lambda: [m for m in room.messages if "facilitator" in m.text])
        assert len(said) == 1  # the 30 s inject, played once, by b
        clock.advance(timedelta(minutes=5))
        await eventually(ticking(clock, lambda: "DRILL report" in texts(room)), within=30)
        await eventually(lambda: not b.drills)
        reports = [m for m in room.messages if "DRILL report" in m.text + json.dumps(m.blocks)]
        assert len(reports) == 1
        [run] = await stored_runs(h)
        assert (run.state, run.steps_done) == ("over", 3)


async def test_a_replica_that_dies_is_played_on_after_the_lease(
    database_url: str, tmp_path: Path
) -> None:
    async with drill_on_two_replicas(database_url, tmp_path) as (h, clock, a, b):
        for task in a.drills.values():
            task.cancel()  # a dies: nothing handed on, its lease stands
        await eventually(lambda: not a.drills)
        assert await resume_drills(b) == 0  # not before the lease runs out
        clock.advance(LEASE + timedelta(seconds=1))
        await resume_drills(b)  # (b's own 5 s tick may get there first)
        await eventually(lambda: b.drills)
        room = drill_rooms(h)[0]
        said = await eventually(lambda: [m for m in room.messages if "facilitator" in m.text])
        assert "&lt;!channel&gt;" in said[0].text
        assert [r.claimed_by for r in await stored_runs(h)] == [b.replica]


async def test_a_run_whose_scenario_is_gone_ends(database_url: str, tmp_path: Path) -> None:
    async with drill_on_two_replicas(database_url, tmp_path) as (h, _clock, a, b):
        (tmp_path / "rentguy-drill.yaml").unlink()  # b's drills_dir no longer has it
        await hand_on_drills(a)
        await resume_drills(b)  # (or b's own tick)

        async def over() -> list[Any]:
            return [r for r in await stored_runs(h) if r.state == "over"]

        await eventually(over)
        assert not b.drills


async def test_injects_waiting_for_the_room_are_said_by_the_replica_playing_on(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.drill.start")  # the players' progress lines
    early = (
        SCENARIO.replace("name: test-drill", "name: rentguy-drill")
        .replace("steps:\n", "steps:\n  - at: 0s\n    say: It is 03:00 and you are on call.\n", 1)
        .replace("  - at: 0s\n    alert:", "  - at: 10s\n    alert:", 1)
    )
    (tmp_path / "rentguy-drill.yaml").write_text(early)
    clock = ManualClock(T0)
    settings = Settings(drills_dir=str(tmp_path))
    async with running(database_url, settings=settings, clock=clock, replicas=2) as h:
        a, b = player_services(h, 0), player_services(h, 1)
        await h.slash("/incident drill rentguy-drill", user="U0ONCALL")
        await eventually(lambda: a.drills)
        await eventually(lambda: said_while_no_room(caplog))  # a said the inject, no room yet
        await hand_on_drills(a)

        async def b_plays() -> bool:
            await resume_drills(b)
            return bool(b.drills)

        await eventually(b_plays)
        clock.advance(timedelta(seconds=11))
        room = await eventually(lambda: drill_rooms(h)[0] if drill_rooms(h) else None)
        said = await eventually(lambda: [m for m in room.messages if "on call" in m.text])
        assert len(said) == 1 and "facilitator" in said[0].text
