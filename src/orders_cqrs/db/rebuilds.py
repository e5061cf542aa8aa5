"""Rebuild leases: one rebuild per projection across every process and machine, and its state.

A rebuild deletes the generation it is about to build and reads the stream through a consumer
group named after it, so two rebuilds of one projection destroy each other's work. Whoever
rebuilds first takes a session-level advisory lock on a connection of its own and keeps that
connection open until the rebuild ends; everyone else is refused at once
(``pg_try_advisory_lock`` never waits). The lock, not the row, is the guard: PostgreSQL drops
it when its session ends, so a rebuild whose process was killed (even ``kill -9``) or whose
machine vanished releases it with nothing left to expire, and a stale row can never block
the next rebuild.

The row in ``projection_rebuilds`` is what everyone *sees*: who started the rebuild, the
generations, progress, the outcome. Only the lock holder writes it, on the lock's own
connection. A row that says ``running`` while no session holds the lock (``_HELD``) belongs
to a rebuild that died: it reads as ``interrupted``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any
from uuid import UUID, uuid4

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.db.connection import session_lock_connection
from orders_cqrs.db.errors import as_store_error

# The first key of every rebuild lock (``pg_locks.classid``); the second is the projection's
# ``hashtext``. Two keys keep these locks apart from any other advisory lock in the database.
LOCK_CLASS = 7_210_001

_TRY_LOCK = "SELECT pg_try_advisory_lock(%s, hashtext(%s)), pg_backend_pid()"
_CLAIM_ROW = """
INSERT INTO projection_rebuilds AS r (projection, rebuild_id, state, started_by, holder_pid)
VALUES (%(projection)s, %(rebuild_id)s, 'running', %(started_by)s, %(pid)s)
ON CONFLICT (projection) DO UPDATE
   SET rebuild_id = excluded.rebuild_id, state = 'running', started_by = excluded.started_by,
       holder_pid = excluded.holder_pid, old_generation = NULL, new_generation = NULL,
       consumer_group = NULL, total = NULL, scanned = 0, caught_up = NULL, dead_lettered = 0,
       error = NULL,
       started_at = now(), updated_at = now(), finished_at = NULL
"""
_PLANNED = """
UPDATE projection_rebuilds
   SET old_generation = %s, new_generation = %s, consumer_group = %s, updated_at = now()
 WHERE projection = %s AND rebuild_id = %s
"""
_PROGRESS = """
UPDATE projection_rebuilds
   SET total = coalesce(%s, total), scanned = %s, dead_lettered = %s, updated_at = now()
 WHERE projection = %s AND rebuild_id = %s
"""
_END = """
UPDATE projection_rebuilds
   SET state = %s, caught_up = %s, dead_lettered = coalesce(%s, dead_lettered), error = %s,
       updated_at = now(), finished_at = now()
 WHERE projection = %s AND rebuild_id = %s
"""
# Is the row's rebuild alive? Its holder's session still holds the projection's lock in this
# database (advisory locks are per database; pg_locks shows every database's). The condition
# appears in both queries below, with LOCK_CLASS written out (checked at import).
_LAST = text(
    """
SELECT r.*, EXISTS (
       SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = 7210001::oid AND l.objid = hashtext(r.projection)::oid
          AND l.pid = r.holder_pid) AS held
  FROM projection_rebuilds r WHERE r.projection = :name
"""
)
# The consumer groups of the rebuilds running now. No parameters: the relay runs it on its
# own psycopg connection, the API through SQLAlchemy.
RUNNING_GROUPS = """
SELECT r.consumer_group FROM projection_rebuilds r
 WHERE r.state = 'running' AND r.consumer_group IS NOT NULL AND EXISTS (
       SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = 7210001::oid AND l.objid = hashtext(r.projection)::oid
          AND l.pid = r.holder_pid)
"""
assert f"{LOCK_CLASS}::oid" in RUNNING_GROUPS and f"{LOCK_CLASS}::oid" in str(_LAST)


@dataclass(frozen=True, slots=True)
class RebuildRecord:
    """The last rebuild of a projection, as every process sees it."""

    projection: str
    state: str  # running | done | failed | interrupted (its process died)
    started_by: str
    old_generation: str | None
    new_generation: str | None
    consumer_group: str | None
    total: int | None
    scanned: int
    caught_up: int | None
    dead_lettered: int  # events parked as dead letters instead of applied
    error: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the admin API and the ops page."""
        return {
            "state": self.state,
            "started_by": self.started_by,
            "old_generation": self.old_generation,
            "new_generation": self.new_generation,
            "consumer_group": self.consumer_group,
            "total": self.total,
            "scanned": self.scanned,
            "caught_up": self.caught_up,
            "dead_lettered": self.dead_lettered,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }

    def describe(self) -> str:
        """One line for a refusal: who is rebuilding, since when, how far."""
        progress = f", {self.scanned} of {self.total} events" if self.total is not None else ""
        return f"started by {self.started_by} at {self.started_at.isoformat()}{progress}"


class RebuildLease:
    """The right to rebuild one projection, held until ``release`` (or the process dies).

    Its methods write the projection's row on the lock's connection. ``failed`` never raises:
    it runs while another error is on its way out, and if the connection is gone the lock
    went with it, so the row reads as interrupted anyway.
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any], projection: str, rebuild_id: UUID):
        self._conn = conn
        self.projection = projection
        self.rebuild_id = rebuild_id

    async def __aenter__(self) -> RebuildLease:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()

    async def planned(self, *, old: str, new: str, group: str) -> None:
        """Record the generations and the consumer group, before the group exists."""
        await self._run(_PLANNED, (old, new, group, self.projection, self.rebuild_id))

    async def progress(
        self, scanned: int, total: int | None = None, *, dead_lettered: int = 0
    ) -> None:
        """Record how far the outbox scan is, and how many events it parked so far."""
        params = (total, scanned, dead_lettered, self.projection, self.rebuild_id)
        await self._run(_PROGRESS, params)

    async def ensure_held(self) -> None:
        """Raise unless the lock's session is still alive (and so still holds the lock)."""
        await self._run("SELECT 1", ())

    async def finished(self, caught_up: int, dead_lettered: int = 0) -> None:
        """The rebuild switched readers to its generation, parking ``dead_lettered`` events."""
        params = ("done", caught_up, dead_lettered, None, self.projection, self.rebuild_id)
        await self._run(_END, params)

    async def failed(self, error: str) -> None:
        """The rebuild ended without switching; best effort (see the class docstring)."""
        with contextlib.suppress(psycopg.Error, OSError):
            await self._conn.execute(
                _END, ("failed", None, None, error[:2000], self.projection, self.rebuild_id)
            )

    async def release(self) -> None:
        """End the session, and with it the lock."""
        with contextlib.suppress(psycopg.Error, OSError):
            await self._conn.close()

    async def _run(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            await self._conn.execute(sql, params)
        except psycopg.Error as error:
            raise as_store_error(error) or error from error


class RebuildRegistry:
    """Takes rebuild leases and reads every projection's last rebuild."""

    def __init__(self, engine: AsyncEngine, *, dsn: str, options: str = "") -> None:
        self._engine = engine
        self._dsn = dsn
        self._options = options

    async def acquire(self, projection: str, started_by: str) -> RebuildLease | None:
        """The lease of ``projection``, or None when a rebuild of it is running anywhere.

        The lease's connection is its own, never a pooled one: closing it is how the lock is
        released, whatever happened to the rebuild.
        """
        conn = await session_lock_connection(self._dsn, self._options)
        try:
            row = await (await conn.execute(_TRY_LOCK, (LOCK_CLASS, projection))).fetchone()
            assert row is not None
            locked, pid = row
            if not locked:
                await conn.close()
                return None
            rebuild_id = uuid4()
            await conn.execute(
                _CLAIM_ROW,
                {
                    "projection": projection,
                    "rebuild_id": rebuild_id,
                    "started_by": started_by[:200],
                    "pid": pid,
                },
            )
        except BaseException as error:
            await conn.close()
            converted = as_store_error(error)
            if converted is not None:
                raise converted from error
            raise
        return RebuildLease(conn, projection, rebuild_id)

    async def last(self, projection: str) -> RebuildRecord | None:
        """The last rebuild of ``projection``; None if it was never rebuilt."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(_LAST, {"name": projection})).mappings().first()
        if row is None:
            return None
        state = row["state"]
        if state == "running" and not row["held"]:
            state = "interrupted"
        return RebuildRecord(
            projection=row["projection"],
            state=state,
            started_by=row["started_by"],
            old_generation=row["old_generation"],
            new_generation=row["new_generation"],
            consumer_group=row["consumer_group"],
            total=row["total"],
            scanned=row["scanned"],
            caught_up=row["caught_up"],
            dead_lettered=row["dead_lettered"],
            error=row["error"],
            started_at=row["started_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
        )

    async def refusal(self, projection: str) -> str:
        """What a refused rebuild is told: who is rebuilding, since when, how far."""
        record = await self.last(projection)
        detail = f"a rebuild of {projection} is already running"
        return f"{detail} ({record.describe()})" if record is not None else detail

    async def running_groups(self) -> set[str]:
        """The consumer groups of the rebuilds running now, in any process."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(text(RUNNING_GROUPS))).all()
        return {str(row[0]) for row in rows}


async def running_rebuild_groups(conn: psycopg.AsyncConnection[Any]) -> set[str]:
    """``RebuildRegistry.running_groups`` on a connection the caller owns (the relay's)."""
    cursor = await conn.execute(RUNNING_GROUPS)
    return {str(row[0]) for row in await cursor.fetchall()}
