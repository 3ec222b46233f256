"""What "the database is unavailable" looks like, caught alike wherever a loop goes on.

A lost connection, a failover or a refused login comes out of SQLAlchemy as a DBAPIError
(OperationalError is one, named for the reader), or as an OSError from the driver before
SQLAlchemy wraps it. A site that means more (the pool's TimeoutError, every SQLAlchemyError
for an export) adds to this tuple where it catches.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, DBAPIError, OSError)
