"""Starting a drill from Slack (`/incident drill <name>`): a task on the replica that got the
command, with the app's clock and services; the report lands in the drill room. The run is
noted in `drill_runs` with a lease: when that replica stops, another one plays on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.config.settings import AlertSettings
from bot.core.drill_keys import DrillMark, new_mark
from bot.core.slack_text import escape
from bot.db.drill_runs import claim_orphans, create_run, end_run, hand_on, orphans_exist
from bot.db.errors import DATABASE_UNAVAILABLE
from bot.db.models import DrillRun
from bot.drill.catalog import scenario_paths
from bot.drill.player import DrillPlayer, DrillResult, HandedOn, RunLease
from bot.drill.report import offset_text
from bot.drill.scenario import Scenario, ScenarioError, load_scenario
from bot.runtime.ports import DrillPorts

log = logging.getLogger(__name__)


async def start_drill(
    services: DrillPorts, scenario: Scenario, invitee: str | None
) -> asyncio.Task[DrillResult | None]:
    """Note the run (so another replica can play on if this one stops), then play it."""
    invitees = (invitee,) if invitee else ()
    mark, now = new_mark(scenario.name, invitees), services.clock.now()
    async with services.db.begin() as session:
        run = await create_run(
            session,
            mark=mark.key,
            scenario=scenario.name,
            invitees=invitees,
            started_at=now,
            worker=services.replica,
        )
    lease = RunLease(run.id, services.replica, kept_at=now)
    player = DrillPlayer(
        services, scenario, invitees=invitees, progress=_logged(scenario), mark=mark, run=lease
    )
    return _spawn(services, run.id, player)


async def resume_drills(services: DrillPorts) -> int:
    """A tick: play on the drills whose replica stopped (their lease ran out)."""
    now = services.clock.now()
    try:
        async with services.db.read() as session:  # mostly none: no write lock
            if not await orphans_exist(session, now):
                return 0
        async with services.db.begin() as session:
            runs = await claim_orphans(session, services.replica, now)
    except DATABASE_UNAVAILABLE as exc:
        log.warning("drill tick skipped", extra={"error": type(exc).__name__})
        return 0
    return await _play_on(services, runs, now)


async def _play_on(services: DrillPorts, runs: list[DrillRun], now: datetime) -> int:
    settings = services.settings
    for run in runs:
        scenario, _ = choose_scenario(run.scenario, settings.alerts, settings.drills_dir)
        if scenario is None:  # gone from this replica's config: the run ends here
            log.warning("drill cannot be resumed", extra={"drill": run.mark})
            async with services.db.begin() as session:
                await end_run(session, run.id)
            continue
        invitees = tuple(str(user) for user in run.invitees)
        player = DrillPlayer(
            services,
            scenario,
            invitees=invitees,
            progress=_logged(scenario),
            mark=DrillMark(run.mark, invitees),
            run=RunLease(run.id, services.replica, kept_at=now),
            started_at=run.started_at,
            steps_done=run.steps_done,
            incident_id=run.incident_id,
        )
        _spawn(services, run.id, player)
    return len(runs)


async def hand_on_drills(services: DrillPorts) -> None:
    """This replica is stopping: its drills stop here and another replica claims them at
    once (instead of after the lease)."""
    if not services.drills:
        return
    runs = dict(services.drills)
    for task in runs.values():
        task.cancel()
    await asyncio.gather(*runs.values(), return_exceptions=True)
    async with services.db.begin() as session:
        await hand_on(session, list(runs), services.replica, services.clock.now())


def _logged(scenario: Scenario) -> Callable[[str], None]:
    return lambda line: log.info("drill", extra={"drill": scenario.name, "line": line})


def _spawn(
    services: DrillPorts, run_id: int, player: DrillPlayer
) -> asyncio.Task[DrillResult | None]:
    task = asyncio.create_task(_play(player), name=f"drill:{player.mark.key}")
    services.drills[run_id] = task  # held, or the loop may drop it
    task.add_done_callback(lambda _done: services.drills.pop(run_id, None))
    return task


async def _play(player: DrillPlayer) -> DrillResult | None:
    try:
        return await player.play()
    except HandedOn:
        log.info("drill handed on to another replica", extra={"drill": player.mark.key})
        return None
    except Exception:  # a drill must never take the replica down; the log says why
        log.exception("drill failed", extra={"drill": player.mark.key})
        return None


def what_will_happen(scenario: Scenario) -> str:
    alerts = sum(1 for s in scenario.steps if s.kind == "alert")
    says = len(scenario.steps) - alerts
    return (
        f":construction: *DRILL* `{scenario.name}` starting: {escape(scenario.title)}.\n"
        f"A room marked DRILL opens with the first alert and you are invited. "
        f"{alerts} alert(s) and {says} facilitator inject(s) arrive over "
        f"{offset_text(scenario.duration)}; the escalation clock runs for real. Acknowledge, "
        "take command and post updates as you would. Nothing reaches the real backends, "
        "tickets, e-mail or the status page. At the end (or when you resolve) the room gets "
        f"the report and the timeline export. Runbook: {escape(scenario.runbook)}"
    )


def scenario_list(scenarios: list[Scenario]) -> str:
    lines = [f"• `{s.name}` — {escape(s.title)} ({offset_text(s.duration)})" for s in scenarios]
    return (
        "*Drill scenarios* — start one with `/incident drill <name>`:\n" + "\n".join(lines)
        if lines
        else "No drill scenarios: none shipped, none in `drills_dir`."
    )


def choose_scenario(
    name: str | None, settings: AlertSettings, drills_dir: str | None = None
) -> tuple[Scenario | None, str]:
    """The scenario called `name` (shipped or the team's own), or (None, the list / why not)
    to answer with."""
    scenarios, broken = [], []
    for path in scenario_paths(drills_dir).values():
        try:
            scenarios.append(load_scenario(path, settings))
        except ScenarioError as exc:  # e.g. the config's severity map refuses a payload
            broken.append(f"`{path.stem}` ({escape(exc.problems[0])})")
    found = next((s for s in scenarios if s.name == name), None)
    if found is not None:
        return found, ""
    listing = scenario_list(scenarios)
    if broken:
        listing += "\nNot playable with this configuration: " + "; ".join(broken)
    if name is None:
        return None, listing
    return None, f":warning: there is no drill scenario `{escape(name)}`.\n{listing}"
