"""The write side's PostgreSQL connection type: psycopg 3, no ORM layer on the hot path.

A checkout is a handful of short statements; building them through SQLAlchemy Core cost more
CPU than PostgreSQL spent running them. The repositories therefore send fixed SQL text,
which psycopg prepares server-side after a few uses, and the unit of work runs in pipeline
mode so statements whose results nobody waits for travel together. SQLAlchemy's metadata
(``db/tables.py``) and Alembic still own the schema.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

Connection = AsyncConnection[tuple[Any, ...]]


def libpq_dsn(url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL in ``ORDERS_DATABASE_URL``."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
