"""The kind of each test, marked at collection (tests/conftest.py) so that a run can choose
by cost: `pytest -m unit`, `-m "unit or db"` (`make test-fast`), `-m "not processes"`…

Each test gets one of the markers registered in pyproject.toml, the first that applies:

- `browser`: it is in tests/test_browser.py (headless Chromium against `warroom serve`);
- `processes`: it starts child processes — the test, one of its fixtures, or a test helper
  they call uses `tests.cli.run_cli` or `serving_sandbox` (the `warroom` CLI),
  `tests.processes.cluster` (`warroom serve` replicas), `private_postgres` or `subprocess`;
- `e2e`: it is in tests/scenarios, or it drives the whole bot over HTTP: the test (…) uses
  `tests.harness.running` or builds the app with `bot.web.app.create_app`;
- `db`: it takes a database fixture (`database_url`, `engine`, `sqlite_url`,
  `postgresql_url`, `pg_url`);
- `unit`: the rest — no database, no child process, no whole bot: pure code, or a fake
  server of the test's own on loopback in the test's process.

A test that already carries one of these markers keeps it.
"""

from __future__ import annotations

import inspect
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

from bot.web.app import create_app
from tests import cli, harness, processes
from tests.faults import pg_private

KINDS = ("browser", "processes", "e2e", "db", "unit")
DATABASE_FIXTURES = frozenset({"database_url", "engine", "sqlite_url", "postgresql_url", "pg_url"})
SPAWNERS: tuple[object, ...] = (
    cli.run_cli,
    cli.serving_sandbox,
    processes.cluster,
    pg_private.private_postgres,
    subprocess,
)
WHOLE_APP: tuple[object, ...] = (harness.running, create_app)
TESTS_DIR = Path(__file__).resolve().parent


def kind_of(item: pytest.Item) -> str:
    """The marker `item` gets (the module docstring says why)."""
    path = item.path.resolve()
    parts = path.relative_to(TESTS_DIR).parts if path.is_relative_to(TESTS_DIR) else path.parts
    if parts == ("test_browser.py",):
        return "browser"
    used = list(_used(item))
    if any(_is_any(obj, SPAWNERS) for obj in used):
        return "processes"
    if parts[:1] == ("scenarios",) or any(_is_any(obj, WHOLE_APP) for obj in used):
        return "e2e"
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "db"
    return "unit"


def mark_kinds(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in KINDS):
            item.add_marker(kind_of(item))


def _is_any(obj: object, candidates: tuple[object, ...]) -> bool:
    return any(obj is candidate for candidate in candidates)


def _used(item: pytest.Item) -> Iterator[object]:
    """Every global the test's function and fixtures refer to, following the functions
    and classes of tests/ they reach (helpers calling helpers)."""
    roots: list[Callable[..., Any]] = []
    if (function := getattr(item, "function", None)) is not None:
        roots.append(function)
    fixture_info = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(fixture_info, "name2fixturedefs", {}).values():
        roots += [d.func for d in definitions if callable(getattr(d, "func", None))]
    seen: set[int] = set()
    pending = [inspect.unwrap(f) for f in roots]
    while pending:
        function = pending.pop()
        if id(function) in seen or not hasattr(function, "__code__"):
            continue
        seen.add(id(function))
        scope = getattr(function, "__globals__", {})
        for name in _names(function.__code__):
            if name not in scope:
                continue
            obj = scope[name]
            yield obj
            pending += _helpers_in(obj)


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):  # lambdas, nested functions, comprehensions
            yield from _names(const)


def _helpers_in(obj: object) -> list[Any]:
    """`obj`'s functions to follow, if it is a function or class of tests/."""
    module = getattr(obj, "__module__", None) or ""
    if not (module == "tests" or module.startswith("tests.")):
        return []
    if inspect.isclass(obj):
        return [inspect.unwrap(f) for f in vars(obj).values() if inspect.isfunction(f)]
    if callable(obj):
        return [inspect.unwrap(obj)]
    return []
