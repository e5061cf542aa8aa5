"""The write side's PostgreSQL connection type: psycopg 3, no ORM layer on the hot path.

A checkout is a handful of short statements; building them through SQLAlchemy Core cost more
CPU than PostgreSQL spent running them. The repositories therefore hold fixed SQL text, and
the unit of work sends it through a ``Session`` (``db/session.py``) that batches statements
into as few round trips as the logic allows. SQLAlchemy's metadata (``db/tables.py``) and
Alembic still own the schema; the read side keeps SQLAlchemy.
"""

from __future__ import annotations

import select
from typing import Any

from psycopg import AsyncConnection

Connection = AsyncConnection[tuple[Any, ...]]


def libpq_dsn(url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL in ``ORDERS_DATABASE_URL``."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def server_hung_up(conn: Connection) -> bool:
    """Whether the server has ended this idle connection (a restart, a failover, a kill).

    An idle connection of ours has nothing to read: the server speaks only when asked (the
    write pool does not LISTEN). A server that ends a session sends its goodbye (a FATAL
    57P01) and closes the socket, so a readable socket means the connection is dead, and a
    zero-timeout ``select`` tells that without a round trip. (A rare unasked message, a
    ParameterStatus after a configuration reload, reads as dead too: the pool replaces a
    healthy connection, which costs one connect.) A server that vanished without closing
    anything is not seen here; its request fails, as it would with a round-trip check.
    """
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
