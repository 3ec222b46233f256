"""The test databases: a fresh PostgreSQL database per run, and emptying one between tests."""

from __future__ import annotations

import uuid

import asyncpg
from sqlalchemy import delete

from bot.db.engine import create_engine
from bot.db.models import Base


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def create_pg_database(admin_url: str) -> str | None:
    """A new, empty database on `admin_url`'s server (its URL), or None if unreachable."""
    try:
        conn = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    name = f"warroom_test_{uuid.uuid4().hex[:10]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def empty_database(url: str) -> None:
    """Delete every row of every table (children first); the schema stays."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(delete(table))
    finally:
        await engine.dispose()
