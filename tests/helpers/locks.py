"""Row locks a test holds itself, to line concurrent requests up in a chosen order.

A race that depends on timing is lost or won by luck; holding a row lock from the test's own
connection makes the requests under test queue on that row, and ``wait_for_lock_waiters``
tells when they are queued. Releasing the lock then lets them run in exactly the
interleaving the test wants to try.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from tests.helpers.waiting import wait_until

_WAITERS = """
SELECT count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


@contextmanager
def row_locked(dsn: str, sql: str, *params: object) -> Iterator[psycopg.Connection[Any]]:
    """Run ``sql`` (a ``SELECT … FOR UPDATE``) in a transaction held open for the block."""
    with psycopg.connect(dsn) as holder:
        locked = holder.execute(sql, params).fetchall()
        assert locked, f"nothing to lock: {sql}"
        try:
            yield holder
        finally:
            holder.rollback()


def lock_waiters(db: psycopg.Connection[Any]) -> int:
    """How many other sessions of this database wait for a lock right now."""
    row = db.execute(_WAITERS).fetchone()
    assert row is not None
    return int(row[0])


def wait_for_lock_waiters(db: psycopg.Connection[Any], count: int, seconds: float = 15) -> None:
    """Poll until ``count`` sessions wait for a lock (the requests under test are queued)."""
    wait_until(
        lambda: lock_waiters(db) >= count,
        seconds,
        f"{count} session(s) waiting for a lock",
        poll=0.02,
    )
