"""Drill scenarios by name: the ones shipped with Warroom (`bot/drill/scenarios/*.yaml`,
package data) and the team's own (`drills_dir`), which win on a name both have."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from bot.config.settings import AlertSettings
from bot.drill.scenario import Scenario, ScenarioError, load_scenario


def _shipped_dir() -> Path:
    return Path(str(resources.files("bot.drill") / "scenarios"))


def shipped_paths() -> dict[str, Path]:
    """Shipped scenario name (file stem) -> its file."""
    folder = _shipped_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def scenario_paths(drills_dir: str | None = None) -> dict[str, Path]:
    """Every playable scenario's name -> file: shipped, then the team's own (`drills_dir`)."""
    own = Path(drills_dir) if drills_dir else None
    mine = {p.stem: p for p in sorted(own.glob("*.y*ml"))} if own and own.is_dir() else {}
    return {**shipped_paths(), **{name: p for name, p in mine.items() if p.is_file()}}


def shipped_names() -> list[str]:
    return list(shipped_paths())


def shipped_scenarios(settings: AlertSettings | None = None) -> list[Scenario]:
    return [load_scenario(p, settings) for p in shipped_paths().values()]


def resolve_scenario(
    ref: str, settings: AlertSettings | None = None, drills_dir: str | None = None
) -> Scenario:
    """A scenario by name (shipped or in `drills_dir`) or file path (a path wins when the
    file exists)."""
    named = scenario_paths(drills_dir)
    if ref in named and not Path(ref).exists():
        return load_scenario(named[ref], settings)
    if not Path(ref).exists() and not ref.endswith((".yaml", ".yml")):
        raise ScenarioError(
            [f"{ref}: no such file, nor a scenario name — known: {', '.join(named)}"]
        )
    return load_scenario(ref, settings)
