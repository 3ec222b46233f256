"""Migrations and models never drift, on either dialect; `warroom migrate` is repeatable."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.db.engine import create_engine
from bot.db.migrate import current_revision, head_revision
from bot.db.models import Base
from tests.cli import run_cli


async def test_autogenerate_finds_no_difference(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert diff == []
        assert set(Base.metadata.tables) <= tables
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


def test_migrate_command_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):  # the second run finds nothing to do and still succeeds
        result = run_cli("migrate", env={"DATABASE_URL": url}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"is at revision {head_revision()} (newest)" in result.stdout


def test_migrate_command_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody:sekrit@127.0.0.1:1/none"
    result = run_cli("migrate", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 1
    assert "migration failed" in result.stderr and "DATABASE_URL" in result.stderr
    assert "sekrit" not in result.stderr + result.stdout
