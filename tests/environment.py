"""What the test run is asked for through the environment, read once.

- `CI` (1/true/yes): what may be skipped locally must run (PostgreSQL, Chromium, the
  private PostgreSQL cluster of the database-outage test); its absence is a failure.
- `WARROOM_TEST_POSTGRES_URL`: the PostgreSQL server the db fixtures create databases on.
- `WARROOM_TEST_DIALECTS`: the dialects to run the database tests on, comma-separated
  (`sqlite`, `postgresql`; both by default). `WARROOM_TEST_DIALECTS=sqlite` (`make test-fast`)
  deselects every test that would run on PostgreSQL.
"""

from __future__ import annotations

import os

ALL_DIALECTS = ("sqlite", "postgresql")
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("WARROOM_TEST_POSTGRES_URL", DEFAULT_PG)


def dialects(value: str | None) -> tuple[str, ...]:
    """The dialects `WARROOM_TEST_DIALECTS` names (all when unset or empty)."""
    names = tuple(n.strip() for n in (value or "").split(",") if n.strip())
    unknown = [n for n in names if n not in ALL_DIALECTS]
    if unknown:
        raise ValueError(f"WARROOM_TEST_DIALECTS: unknown {unknown}; use {', '.join(ALL_DIALECTS)}")
    return names or ALL_DIALECTS


DIALECTS = dialects(os.environ.get("WARROOM_TEST_DIALECTS"))
