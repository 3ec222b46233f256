"""Button words and list labels: `incident_templates/labels.yaml`, with a team's own
`labels.yaml` in its `templates_dir` over it (its language). Problems are named for
`warroom check-config`; at run time a bad entry falls back to the built-in word."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

import incident_templates

FILE = "labels.yaml"
BUILTIN = Path(incident_templates.__file__).parent / FILE
MAX_LABEL = 75  # Slack's limit for a button's text
Problem = tuple[str, str]  # (where, what is wrong — how to fix)


def builtin_labels() -> dict[str, str]:
    found = yaml.safe_load(BUILTIN.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in found.items()}


def load_labels(override_dir: str | None) -> dict[str, str]:
    """The built-in labels with the team's valid ones over them."""
    labels = builtin_labels()
    found, _ = _team_file(override_dir)
    for key, value in found.items():
        if not _entry("", key, value, labels):
            labels[str(key)] = value.strip()
    return labels


def label_problems(override_dir: str | None) -> list[Problem]:
    """What is wrong in the team's labels.yaml, if it has one."""
    found, problems = _team_file(override_dir)
    known = builtin_labels()
    where = f"templates_dir/{FILE}"
    return problems + [p for key, value in found.items() for p in _entry(where, key, value, known)]


def _team_file(override_dir: str | None) -> tuple[dict[Any, Any], list[Problem]]:
    path = Path(override_dir) / FILE if override_dir else None
    if path is None or not path.is_file():
        return {}, []
    where = f"templates_dir/{FILE}"
    try:
        found = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return {}, [(where, f"cannot be read ({type(exc).__name__}) — fix it or remove it")]
    if found is None:
        return {}, []
    if not isinstance(found, dict):
        return {}, [(where, "must be a mapping of label: text, as incident_templates/labels.yaml")]
    return found, []


def _entry(where: str, key: Any, value: Any, known: Mapping[str, str]) -> list[Problem]:
    if key not in known:
        close = difflib.get_close_matches(str(key), list(known), n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known: {', '.join(known)}"
        return [(f"{where}: {key}", f"unknown label — {hint}")]
    if not isinstance(value, str) or not value.strip():
        return [(f"{where}: {key}", "must be non-empty text")]
    if len(value) > MAX_LABEL:
        return [(f"{where}: {key}", f"{len(value)} characters — Slack shows at most {MAX_LABEL}")]
    return []
