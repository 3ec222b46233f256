"""Shared fixtures: a real database on both dialects; each test marked with its kind.

The helpers live in support modules (tests/databases.py, tests/environment.py,
tests/markers.py…); nothing imports this file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from tests.databases import create_pg_database, drop_pg_database, empty_database
from tests.environment import ALL_DIALECTS, DIALECTS, IN_CI, PG_URL
from tests.markers import mark_kinds


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its kind (tests/markers.py); with `WARROOM_TEST_DIALECTS`, leave
    out the tests that would run on another dialect."""
    mark_kinds(items)
    if DIALECTS == ALL_DIALECTS:
        return
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        (kept if dialect_of(item) in (*DIALECTS, None) else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def dialect_of(item: pytest.Item) -> str | None:
    """The database a test runs on (None: it takes no database fixture)."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "database_url" in callspec.params:
        return str(callspec.params["database_url"])
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & {"postgresql_url", "pg_url"}:
        return "postgresql"
    if "sqlite_url" in fixtures:
        return "sqlite"
    return None


@pytest.fixture(scope="session")
async def postgresql_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    url = await create_pg_database(PG_URL)
    if url is None:
        message = f"PostgreSQL not reachable at {PG_URL} (set WARROOM_TEST_POSTGRES_URL)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(f"{message}: PostgreSQL tests skipped")
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    yield url
    await drop_pg_database(PG_URL, url)


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "warroom.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    return url


@pytest.fixture(params=ALL_DIALECTS)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs once per dialect, on an emptied, migrated database
    (`WARROOM_TEST_DIALECTS=sqlite` deselects the PostgreSQL runs)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    asyncio.run(empty_database(url))
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()
