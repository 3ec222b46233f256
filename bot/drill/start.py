"""Starting a drill from Slack (`/incident drill <name>`): a task on the replica that got the
command, with the app's clock and services; the report lands in the drill room."""

from __future__ import annotations

import asyncio
import logging

from bot.config.settings import AlertSettings
from bot.core.slack_text import escape
from bot.drill.catalog import scenario_paths
from bot.drill.player import DrillPlayer, DrillResult
from bot.drill.report import offset_text
from bot.drill.scenario import Scenario, ScenarioError, load_scenario
from bot.services import Services

log = logging.getLogger(__name__)
_RUNNING: set[asyncio.Task[DrillResult | None]] = set()  # held, or the loop may drop them


def start_drill(
    services: Services, scenario: Scenario, invitee: str | None
) -> asyncio.Task[DrillResult | None]:
    player = DrillPlayer(
        services,
        scenario,
        invitees=(invitee,) if invitee else (),
        progress=lambda line: log.info("drill", extra={"drill": scenario.name, "line": line}),
    )
    task = asyncio.create_task(_play(player), name=f"drill:{player.mark.key}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task


async def _play(player: DrillPlayer) -> DrillResult | None:
    try:
        return await player.play()
    except Exception:  # a drill must never take the replica down; the log says why
        log.exception("drill failed", extra={"drill": player.mark.key})
        return None


def running_drills() -> int:
    return len(_RUNNING)


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
