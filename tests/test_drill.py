"""Drill mode end to end: a scenario played into a DRILL room on a real database and the
Slack sandbox over HTTP, a person acknowledging from the intro, the report and the export in
the room; drills never merging with real incidents; `/incident drill`; `warroom drill`."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.settings import Settings
from bot.drill.catalog import resolve_scenario, shipped_paths
from bot.drill.player import DrillPlayer, DrillResult
from bot.drill.scenario import parse_scenario
from bot.escalation.ticker import clock_tick
from bot.infra.time_source import ManualClock
from bot.web.keys import SERVICES
from tests.cli import ROOT, run_cli
from tests.db_reads import incidents, timeline
from tests.drills import QUEUE_ALERT, SCENARIO, T0, drill_rooms, texts, ticking
from tests.harness import Harness, eventually, running

EXAMPLE_OF = re.compile(r"^# Matching example config: (examples/\S+\.yaml)$", re.MULTILINE)


async def at(clock: ManualClock, h: Harness, offset: timedelta) -> None:
    clock.advance(T0 + offset - clock.now())
    await clock_tick(h.app[SERVICES])


async def test_a_drill_opens_a_drill_room_and_reports_who_acked_against_the_policy(
    database_url: str,
) -> None:
    clock = ManualClock(T0)
    async with running(database_url, clock=clock) as h:
        scenario = parse_scenario(SCENARIO, "test.yaml")
        player = DrillPlayer(h.app[SERVICES], scenario, invitees=("U0ONCALL",), poll=0.01)
        task = asyncio.create_task(player.play())

        room = await eventually(lambda: drill_rooms(h)[0] if drill_rooms(h) else None)
        assert room.name.startswith("inc-drill-")
        intro = (await eventually(lambda: h.intros(room)))[0]
        assert "DRILL" in intro.text + json.dumps(intro.blocks)
        assert "U0ONCALL" in room.members
        await eventually(lambda: "DRILL" in room.topic)
        # The announcement stays in the drill room: nothing in the real announce channel.
        await eventually(lambda: "would announce in #dr-war-room" in texts(room))
        assert not [m for m in h.bot_messages("dr-war-room") if "incident" in m.text.lower()]

        await at(clock, h, timedelta(seconds=30))
        said = await eventually(lambda: [m for m in room.messages if "facilitator" in m.text])
        assert "&lt;!channel&gt;" in said[0].text  # the inject is escaped

        await at(clock, h, timedelta(minutes=1))
        await at(clock, h, timedelta(minutes=2, seconds=30))  # ack is 30 s late: a breach
        await eventually(lambda: "not acknowledged" in texts(room))
        ack = await h.press(intro, "incident_ack", user="U0ONCALL")
        assert ack.status == 200
        # The ack is recorded just after the button's answer: wait for it before the end.
        # Its notice may be paced (this is the room's 7th message in about a second).
        acked_notice = ticking(
            clock,
            lambda: "acknowledged* by <@U0ONCALL>" in texts(room),
            upto=T0 + timedelta(minutes=4),
        )
        await eventually(acked_notice)
        await at(clock, h, timedelta(minutes=5))
        result: DrillResult = await asyncio.wait_for(task, 30)

        acked, ic, _updates = result.report.duties
        assert acked.by == "U0ONCALL" and acked.breached
        assert acked.done_at is not None and acked.done_at >= timedelta(minutes=2, seconds=30)
        assert not ic.breached  # due at +10m, after the drill
        assert [s.text for s in result.report.steps if "ack" in s.text] == ["ack breached"]
        assert len(result.report.alerts) == 2
        assert "| Acknowledge | within 2m |" in result.markdown
        assert "U0ONCALL" in result.markdown and "BREACH" in result.markdown

        await eventually(ticking(clock, lambda: "DRILL report" in texts(room)))
        assert [m for m in room.messages if m.files]  # the export, uploaded before it returned
        assert "incident" in result.export and "timeline" in result.export
        stored = await incidents(database_url)
        assert len(stored) == 1 and stored[0].is_drill


async def test_injects_before_the_first_alert_wait_for_the_room(database_url: str) -> None:
    clock = ManualClock(T0)
    early = SCENARIO.replace(
        "steps:\n", "steps:\n  - at: 0s\n    say: It is 03:00 and you are on call.\n", 1
    ).replace("  - at: 0s\n    alert:", "  - at: 10s\n    alert:", 1)
    async with running(database_url, clock=clock) as h:
        player = DrillPlayer(h.app[SERVICES], parse_scenario(early, "t.yaml"), poll=0.01)
        task = asyncio.create_task(player.play())
        await eventually(lambda: player.started_at)
        assert not drill_rooms(h)  # the inject came first: no room yet
        await at(clock, h, timedelta(seconds=10))
        room = await eventually(lambda: drill_rooms(h)[0] if drill_rooms(h) else None)
        said = await eventually(lambda: [m for m in room.messages if "03:00" in m.text])
        assert "DRILL — facilitator" in said[0].text
        player.stop()
        result: DrillResult = await asyncio.wait_for(task, 30)
        assert result.report.ended_because == "stopped"


async def test_a_drill_never_merges_with_a_real_incident_nor_with_another_run(
    database_url: str,
) -> None:
    clock = ManualClock(T0)
    async with running(database_url, clock=clock) as h:
        status, _ = await h.alert("generic", QUEUE_ALERT)
        assert status == 202
        services = h.app[SERVICES]
        scenario = parse_scenario(SCENARIO, "test.yaml")
        players = [DrillPlayer(services, scenario, poll=0.01) for _ in range(2)]
        tasks = [asyncio.create_task(p.play()) for p in players]
        await eventually(lambda: all(p.incident_id for p in players))
        status, _ = await h.alert("generic", QUEUE_ALERT)  # the real one again, while drilling
        assert status == 202
        clock.advance(timedelta(minutes=6))
        await asyncio.wait_for(asyncio.gather(*tasks), 30)

        stored = await incidents(database_url)
        real = [i for i in stored if not i.is_drill]
        drills = [i for i in stored if i.is_drill]
        assert len(real) == 1 and len(drills) == 2
        assert {p.incident_id for p in players} == {i.id for i in drills}
        real_events = await timeline(database_url, real[0].id)
        assert [e for e in real_events if e.kind == "alert.fired"]
        assert not [e for e in real_events if "drill" in (e.text or "").lower()]
        for drill in drills:
            fired = [e for e in await timeline(database_url, drill.id) if e.kind == "alert.fired"]
            assert len(fired) == 2  # its own two alerts, not the real repeat


async def test_incident_drill_lists_starts_and_refuses_unknown_names(database_url: str) -> None:
    clock = ManualClock(T0)
    async with running(database_url, clock=clock) as h:
        await h.slash("/incident drill", user="U0ONCALL")
        listing = await eventually(
            lambda: [t for t in h.ephemerals("U0ONCALL") if "Drill scenarios" in t]
        )
        assert "mawaqit-down" in listing[0] and "dj-queue-backlog" in listing[0]

        await h.slash("/incident drill no-such-drill", user="U0ONCALL")
        refused = await eventually(
            lambda: [t for t in h.ephemerals("U0ONCALL") if "no drill scenario" in t]
        )
        assert "`no-such-drill`" in refused[0] and "mawaqit-down" in refused[0]

        await h.slash("/incident drill mawaqit-down", user="U0ONCALL")
        started = await eventually(lambda: [t for t in h.ephemerals("U0ONCALL") if "starting" in t])
        assert "DRILL" in started[0]
        room = await eventually(lambda: drill_rooms(h)[0] if drill_rooms(h) else None)
        await eventually(lambda: "U0ONCALL" in room.members)
        await eventually(lambda: h.intros(room))
        clock.advance(timedelta(minutes=8))  # past the scenario's duration (7m)
        await eventually(ticking(clock, lambda: "DRILL report" in texts(room)), within=30)
        await eventually(lambda: [m for m in room.messages if m.files], within=30)


async def test_a_teams_own_scenarios_are_listed_and_played_from_slack(
    database_url: str, tmp_path: Path
) -> None:
    """`drills_dir`: the team's own scenarios join the shipped ones in /incident drill."""
    (tmp_path / "rentguy-drill.yaml").write_text(
        SCENARIO.replace("name: test-drill", "name: rentguy-drill")
    )
    (tmp_path / "broken.yaml").write_text("name: broken\ntitle: t\nrunbook: r\nsteps: []\n")
    settings = Settings(drills_dir=str(tmp_path))
    clock = ManualClock(T0)
    async with running(database_url, settings=settings, clock=clock) as h:
        await h.slash("/incident drill", user="U0ONCALL")
        listing = await eventually(
            lambda: [t for t in h.ephemerals("U0ONCALL") if "Drill scenarios" in t]
        )
        assert "`rentguy-drill`" in listing[0] and "`mawaqit-down`" in listing[0]
        assert "Not playable with this configuration: `broken`" in listing[0]
        await h.slash("/incident drill rentguy-drill", user="U0ONCALL")
        await eventually(lambda: [t for t in h.ephemerals("U0ONCALL") if "`rentguy-drill`" in t])
        room = await eventually(lambda: drill_rooms(h)[0] if drill_rooms(h) else None)
        await eventually(lambda: "U0ONCALL" in room.members)


def test_warroom_drill_finds_a_scenario_by_name_in_drills_dir(tmp_path: Path) -> None:
    """A relative `drills_dir` is read from the config file's folder; a missing one is a
    config problem."""
    (tmp_path / "drills").mkdir()
    (tmp_path / "drills" / "rentguy-drill.yaml").write_text(
        SCENARIO.replace("name: test-drill", "name: rentguy-drill")
    )
    (tmp_path / "warroom.yaml").write_text("drills_dir: drills\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"}
    config = str(tmp_path / "warroom.yaml")
    result = run_cli(
        "drill", "rentguy-drill", "--config", config, "--speed", "240", env=env, cwd=elsewhere
    )
    assert result.returncode == 0, result.stderr
    assert "# DRILL report:" in result.stdout and "(rentguy-drill)" in result.stdout
    (tmp_path / "warroom.yaml").write_text("drills_dir: no-such-folder\n")
    bad = run_cli("check-config", "--config", config, env=env, cwd=elsewhere)
    assert (
        bad.returncode == 1 and "drills_dir:" in bad.stderr and "is not a directory" in bad.stderr
    )


@pytest.mark.parametrize("name", sorted(shipped_paths()))
def test_warroom_drill_plays_each_shipped_scenario_and_prints_its_report(
    name: str, tmp_path: Path
) -> None:
    """With the example config it names and none of that config's secrets set: a drill sends
    nothing outside, so their variables may be missing (a note says which)."""
    report = tmp_path / "report.md"
    config = EXAMPLE_OF.search(shipped_paths()[name].read_text())
    assert config is not None, "each shipped scenario names its example config"
    result = run_cli(
        "drill", name, "--speed", "240", "--report", str(report),
        "--config", str(ROOT / config.group(1)),
        env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'drill.db'}"},
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not set, fine for a drill (nothing is sent):" in result.stderr
    out = result.stdout
    assert "+00:00 alert fired:" in out
    assert re.search(r"drill room #[a-z]+-drill-", out)  # the config's room prefix
    assert f"# DRILL report: {resolve_scenario(name).title} ({name})" in out
    assert "| Acknowledge | within " in out
    assert "ack breached" in out  # nobody acknowledged in these runs
    assert report.read_text().startswith("# DRILL report")
    assert "Exported incident #1's timeline" in out


def test_sigterm_ends_a_drill_early_with_its_report(tmp_path: Path) -> None:
    """A facilitator ends a real-clock drill with Ctrl-C or SIGTERM: the report still comes."""
    drill = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "drill", "online-learning-p0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"},
        cwd=tmp_path,
    )
    try:
        assert drill.stdout is not None
        for line in drill.stdout:
            if "drill room #inc-drill-" in line:
                break
        drill.send_signal(signal.SIGTERM)
        out, err = drill.communicate(timeout=60)
    finally:
        drill.kill()
    assert drill.returncode == 0, err
    assert "SIGTERM: ending now, with the report" in err
    assert "drill over: stopped early" in out
    assert "ended because it was stopped early (the incident was not resolved)" in out
    assert "Exported incident #1's timeline" in out


def test_warroom_drill_lists_every_problem_of_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad Name\ntitle: t\nrunbook: r\nsteps:\n"
        "  - at: soon\n    alert: {source: nagios, payload: {}}\n"
        "  - at: 1m\n    say: ''\n"
    )
    result = run_cli("drill", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    err = result.stderr
    assert "problem(s)" in err
    assert f"{bad}: name:" in err
    assert f"{bad}: steps[0].at:" in err
    assert f"{bad}: steps[0].alert.source: `nagios`" in err
    assert f"{bad}: steps[1].say:" in err
    assert result.stdout == ""


def test_warroom_drill_help_explains_it_and_lists_the_shipped_scenarios() -> None:
    result = run_cli("drill", "--help")
    assert result.returncode == 0 and "usage: warroom drill" in result.stdout
    assert "--speed FACTOR" in result.stdout and "docs/drill.md" in result.stdout
    for name in shipped_paths():
        assert name in result.stdout
