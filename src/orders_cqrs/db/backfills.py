"""Backfill locks: one process at a time decides whether a projection's group needs history.

Two projectors of one projection may start together (a deploy, a restart of every replica).
Whether the consumer group exists, creating it and the outbox scan that fills what the stream
no longer holds must be one step per projection, or both would see no group, one would create
it, and the other would read it as "already running" before the history was in. So the step
runs under a session-level advisory lock on a connection of its own: PostgreSQL drops the lock
with the session, so a projector killed mid-backfill blocks nobody, and the next one finds the
unfinished backfill (``readmodels/backfill.py``) and does it again.

The lock is waited for by polling ``pg_try_advisory_lock``, not by ``pg_advisory_lock``: a
waiting projector must still stop on SIGTERM, and ``lock_timeout`` would cut a blocking wait
short of a long backfill anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg

from orders_cqrs.db.connection import session_lock_connection
from orders_cqrs.db.errors import as_store_error
from orders_cqrs.failures.backoff import pause

# First key of every backfill lock; the second is the group's ``hashtext``. Apart from the
# rebuild locks (``db/rebuilds.py``): a rebuild and a backfill of one projection may overlap.
LOCK_CLASS = 7_210_002
_TRY_LOCK = "SELECT pg_try_advisory_lock(%s, hashtext(%s))"
POLL_SECONDS = 0.2


class BackfillLock:
    """Held until ``release`` (or until the process dies and its session with it)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def release(self) -> None:
        """End the session, and with it the lock."""
        with contextlib.suppress(psycopg.Error, OSError):
            await self._conn.close()


class BackfillLocks:
    """Takes the backfill lock of a projection's consumer group."""

    def __init__(self, *, dsn: str, options: str = "") -> None:
        self._dsn = dsn
        self._options = options

    async def acquire(self, group: str, stop: asyncio.Event) -> BackfillLock | None:
        """The lock of ``group``, waiting while another process holds it; None on ``stop``."""
        conn = await session_lock_connection(self._dsn, self._options)
        try:
            while not stop.is_set():
                row = await (await conn.execute(_TRY_LOCK, (LOCK_CLASS, group))).fetchone()
                if row is not None and row[0]:
                    return BackfillLock(conn)
                await pause(stop, POLL_SECONDS)
        except psycopg.Error as error:
            await conn.close()
            raise as_store_error(error) or error from error
        except BaseException:
            await conn.close()
            raise
        await conn.close()
        return None
