"""Drill scenarios: a YAML file of alerts (and facilitator injects) at offsets from the start.

Pure apart from reading the file. Every problem is collected, each as `where: what — how to
fix`, so a bad file is fixed in one go (like `warroom check-config`). Alert payloads are
checked with the intake's own parsers, so a payload the HTTP intake would refuse is refused
here, at load time, naming the step. The format is documented in docs/drill.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.config.durations import DurationError, format_duration, parse_duration
from bot.config.settings import AlertSettings
from bot.drill.scenario_alerts import (
    CHECKED_AT,
    Context,
    NoAliases,
    Source,
    alert_step,
    parse_alert,
    unknown_keys,
)
from bot.errors import WarroomError

MAX_BYTES = 256 * 1024
MAX_STEPS = 200
MAX_SAY = 3000
MAX_DURATION = timedelta(hours=4)
DEFAULT_TAIL = timedelta(minutes=5)
TOP_KEYS = ("name", "title", "runbook", "description", "duration", "steps")
STEP_KEYS = ("at", "alert", "say")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CLOCK_OFFSET = re.compile(r"^\+?(?:(\d+):)?(\d+):([0-5]\d)$")  # +MM:SS, H:MM:SS (as printed)


class ScenarioError(WarroomError):
    """The scenario cannot be played; `problems` lists every reason, each with its place."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class AlertStep:
    at: timedelta
    source: Source
    payload: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return "alert"


@dataclass(frozen=True)
class SayStep:
    at: timedelta
    text: str

    @property
    def kind(self) -> str:
        return "say"


Step = AlertStep | SayStep


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    runbook: str
    description: str
    duration: timedelta  # the drill ends then, unless the incident is resolved earlier
    steps: tuple[Step, ...]
    origin: str = ""  # the file it came from


# --- loading ----------------------------------------------------------------------------


def load_scenario(path: str | Path, settings: AlertSettings | None = None) -> Scenario:
    """Read and validate one scenario file; `ScenarioError` lists every problem."""
    where = str(path)
    try:
        file = Path(path)
        if file.is_dir():
            raise ScenarioError([f"{where}: is a directory — give a scenario .yaml file"])
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise ScenarioError(
                [f"{where}: {size:,} bytes — a scenario is at most {MAX_BYTES:,} bytes; split it"]
            )
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{where}: file not found — check the path"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{where}: cannot read the file ({exc})"]) from None
    return parse_scenario(text, where, settings, folder=file.parent)


def parse_scenario(
    text: str, where: str, settings: AlertSettings | None = None, *, folder: Path | None = None
) -> Scenario:
    """`folder` is where `payload_file:` paths start (the scenario file's folder)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise ScenarioError([f"{where}: larger than {MAX_BYTES:,} bytes — split the scenario"])
    raw = _read_yaml(text, where)
    problems: list[str] = []
    context = Context(where, settings or AlertSettings(), folder)
    scenario = _build(raw, context, problems)
    if problems or scenario is None:
        raise ScenarioError(problems or [f"{where}: not a scenario"])
    return scenario


def _read_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=NoAliases)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{at}: not valid YAML: {reason} — fix the syntax there"]) from None
    except (ValueError, RecursionError) as exc:
        raise ScenarioError(
            [f"{where}: a value cannot be read ({type(exc).__name__}) — quote it or flatten it"]
        ) from None


def _text(raw: Mapping[str, Any], key: str, at: str, problems: list[str], limit: int) -> str:
    value = raw.get(key)
    if value is None:
        problems.append(f"{at}{key}: is required — add `{key}: …`")
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{at}{key}: must be non-empty text")
        return ""
    if len(value) > limit:
        problems.append(f"{at}{key}: {len(value)} characters — keep it under {limit}")
    return value.strip()


def _build(raw: Any, context: Context, problems: list[str]) -> Scenario | None:
    where = context.where
    if not isinstance(raw, dict):
        shown = "empty" if raw is None else f"a {type(raw).__name__}"
        problems.append(
            f"{where}: the file is {shown} — a scenario is a mapping with a name, a title "
            "and steps (see docs/drill.md)"
        )
        return None
    at = f"{where}: "
    problems.extend(unknown_keys(raw, TOP_KEYS, where))
    name = _name(raw, context, problems)
    title = _text(raw, "title", at, problems, 150) if "title" in raw else name
    runbook = _text(raw, "runbook", at, problems, 300) if "runbook" in raw else "not named"
    description = ""
    if raw.get("description") is not None:
        description = _text(raw, "description", at, problems, MAX_SAY)
    steps = _steps(raw.get("steps"), context, problems)
    duration = _duration_of(raw, steps, where, problems)
    if problems:
        return None
    return Scenario(name, title, runbook, description, duration, tuple(steps), where)


def _name(raw: Mapping[str, Any], context: Context, problems: list[str]) -> str:
    """The `name:`; left out, the file's name when that is a slug (`rentguy.yaml`)."""
    at = f"{context.where}: "
    stem = Path(context.where).stem
    if "name" not in raw and context.folder is not None and _NAME.match(stem):
        return stem
    name = _text(raw, "name", at, problems, 63)
    if name and not _NAME.match(name):
        problems.append(
            f"{at}name: `{name}` — use a slug: lower-case letters, digits and dashes (mawaqit-down)"
        )
    return name


def _duration_of(
    raw: Mapping[str, Any], steps: list[Step], where: str, problems: list[str]
) -> timedelta:
    last = steps[-1].at if steps else timedelta(0)
    if raw.get("duration") is None:
        if last + DEFAULT_TAIL > MAX_DURATION:
            problems.append(
                f"{where}: steps: the last step at {format_duration(last)} is too late — a drill "
                f"lasts at most {format_duration(MAX_DURATION)} (the last step + "
                f"{format_duration(DEFAULT_TAIL)} when `duration` is not given)"
            )
        return last + DEFAULT_TAIL
    duration = _offset(raw["duration"], f"{where}: duration", problems)
    if duration is None:
        return last + DEFAULT_TAIL
    if duration > MAX_DURATION:
        problems.append(
            f"{where}: duration: {format_duration(duration)} — a drill lasts at most "
            f"{format_duration(MAX_DURATION)}"
        )
    elif steps and duration <= last:
        problems.append(
            f"{where}: duration: {format_duration(duration)} ends before the last step "
            f"(at {format_duration(last)}) — make it longer, or leave it out "
            f"(default: last step + {format_duration(DEFAULT_TAIL)})"
        )
    return duration


def _offset(value: object, at: str, problems: list[str]) -> timedelta | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        problems.append(f"{at}: {value} is negative — offsets count from the start (0s)")
        return None
    if isinstance(value, str) and value.strip().startswith("-"):
        problems.append(f"{at}: {value!r} is negative — offsets count from the start (0s)")
        return None
    clock = _CLOCK_OFFSET.match(value.strip()) if isinstance(value, str) else None
    if clock:
        hours, minutes, seconds = (int(part or 0) for part in clock.groups())
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    try:
        return parse_duration(value)
    except DurationError as exc:
        problems.append(f"{at}: {exc} (or as the drill prints offsets: +02:30)")
        return None


def _steps(raw: Any, context: Context, problems: list[str]) -> list[Step]:
    where = context.where
    if raw is None:
        problems.append(f"{where}: steps: is required — a list of `- at: 0s` + `alert:`/`say:`")
        return []
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: steps: must be a non-empty list of steps")
        return []
    if len(raw) > MAX_STEPS:
        problems.append(f"{where}: steps: {len(raw)} steps — at most {MAX_STEPS}")
        return []
    steps: list[Step] = []
    previous: timedelta | None = None
    for i, item in enumerate(raw):
        at = f"{where}: steps[{i}]"
        step = _step(item, at, context, problems)
        if step is None:
            continue
        if previous is not None and step.at < previous:
            problems.append(
                f"{at}.at: {format_duration(step.at)} comes before the previous step's "
                f"{format_duration(previous)} — list the steps in time order"
            )
        previous = step.at
        steps.append(step)
    if len(steps) == len(raw):  # with a broken step, its alert might have been the first
        problems.extend(_first_alert_fires(steps, where, context.settings))
    return steps


def _first_alert_fires(steps: list[Step], where: str, settings: AlertSettings) -> list[str]:
    """The drill room opens with the first alert, so it must fire; `say:` steps before it
    wait for the room."""
    index = next((i for i, s in enumerate(steps) if isinstance(s, AlertStep)), None)
    if index is None:
        return [f"{where}: steps: no `alert:` step — the drill room opens with the first alert"]
    first = steps[index]
    assert isinstance(first, AlertStep)
    if _fires(first, settings):
        return []
    return [
        f"{where}: steps[{index}]: the first `alert:` must be firing — the drill room opens with it"
    ]


def _fires(step: AlertStep, settings: AlertSettings) -> bool:
    alerts = parse_alert(step.source, step.payload, settings, CHECKED_AT)
    return any(a.status == "firing" for a in alerts)


def _step(item: Any, at: str, context: Context, problems: list[str]) -> Step | None:
    if not isinstance(item, dict):
        problems.append(f"{at}: must be a mapping like `{{at: 30s, say: …}}`")
        return None
    before = len(problems)
    problems.extend(unknown_keys(item, STEP_KEYS, at))
    offset = None
    if "at" not in item:
        problems.append(f"{at}.at: is required — when the step happens, like 0s, 90s or 2m")
    else:
        offset = _offset(item["at"], f"{at}.at", problems)
    chosen = [key for key in ("alert", "say") if key in item]
    if len(chosen) != 1:
        problems.append(f"{at}: needs exactly one of `alert:` or `say:` (has {len(chosen)})")
        return None
    if chosen == ["say"]:
        text = item["say"]
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{at}.say: must be non-empty text")
        elif len(text) > MAX_SAY:
            problems.append(f"{at}.say: {len(text)} characters — keep it under {MAX_SAY}")
        elif offset is not None and len(problems) == before:
            return SayStep(offset, text.strip())
        return None
    alert = alert_step(item["alert"], f"{at}.alert", context, problems)
    if alert is None or offset is None or len(problems) != before:
        return None
    return AlertStep(offset, alert[0], alert[1])
