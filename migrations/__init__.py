"""Alembic migrations (async env). Run with `warroom migrate`."""
