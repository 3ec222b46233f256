"""Scenario tests run on PostgreSQL (as production does), once per Slack transport."""

from __future__ import annotations

import asyncio

import pytest

from tests.databases import empty_database

TRANSPORT_PARAMS = ["http", "socket"]


@pytest.fixture(params=TRANSPORT_PARAMS)
def transport(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def pg_url(postgresql_url: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    asyncio.run(empty_database(postgresql_url))
    return postgresql_url
