"""The example configs in examples/, loaded as a user would: `env_for(path)` gives every
environment variable the file names (its `${NAME}` references and the backends' `auth_env`)
a dummy value (`dummy(name)`: a URL for `*_URL`/`*_ENDPOINT`, else `dummy-<name>`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
_REQUIRED_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # ${NAME}, no :-default


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def raw_config(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(raw, dict), path
    return raw


def env_names(path: Path) -> list[str]:
    """Every variable the file needs: `${NAME}` references and the backends' `auth_env`."""
    raw = raw_config(path)
    names = {name for text in _strings(raw) for name in _REQUIRED_REF.findall(text)}
    for backend in (raw.get("backends") or {}).values():
        if backend.get("base_url") and backend.get("auth_env"):
            names.add(backend["auth_env"])
    return sorted(names)


def dummy(name: str) -> str:
    if name.endswith(("_URL", "_ENDPOINT")):
        return f"https://hooks.example.com/{name.lower()}"
    return f"dummy-{name.lower()}"


def env_for(path: Path) -> dict[str, str]:
    return {name: dummy(name) for name in env_names(path)}
