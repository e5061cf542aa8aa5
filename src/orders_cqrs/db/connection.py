"""The write side's PostgreSQL connection type: psycopg 3, no ORM layer on the hot path.

A checkout is a handful of short statements; building them through SQLAlchemy Core cost more
CPU than PostgreSQL spent running them. The repositories therefore hold fixed SQL text, and
the unit of work sends it through a ``Session`` (``db/session.py``) that batches statements
into as few round trips as the logic allows. SQLAlchemy's metadata (``db/tables.py``) and
Alembic still own the schema; the read side keeps SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

Connection = AsyncConnection[tuple[Any, ...]]


def libpq_dsn(url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL in ``ORDERS_DATABASE_URL``."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
