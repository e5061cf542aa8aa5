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

import psycopg
from psycopg import AsyncConnection

from orders_cqrs.db.errors import as_store_error

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


async def session_lock_connection(dsn: str, options: str = "") -> Connection:
    """A connection of its own, outside every pool, to hold a session-level advisory lock on.

    Such a lock lives exactly as long as its session: closing this connection (or the death of
    the process) is how it is released, so it must never return to a pool, where the next
    borrower would inherit the lock. Autocommit, because the session, not a transaction, holds
    it. A failure to connect is converted to a store error at this boundary.
    """
    try:
        return await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, options=options, connect_timeout=5
        )
    except psycopg.Error as error:
        raise as_store_error(error) or error from error
