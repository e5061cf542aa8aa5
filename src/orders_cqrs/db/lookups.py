"""Read-only lookups on the write model, for readers and tooling that are not commands."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_PING = text("SELECT 1")
_ORDER_VERSION = text("SELECT version FROM orders WHERE id = :id")
_VERSIONS_PAGE = text(
    "SELECT id, version, status FROM orders WHERE id > :after ORDER BY id LIMIT :n"
)
# When each (order, version) event was written, by the database's clock, and that clock now.
_EVENT_TIMES = text(
    """
    SELECT o.aggregate_id::text AS order_id, o.occurred_at, now() AS now
      FROM event_log o
      JOIN unnest(CAST(:ids AS uuid[]), CAST(:versions AS int[])) AS w(id, version)
        ON o.aggregate_id = w.id AND o.aggregate_version = w.version
    """
)
_NOW = text("SELECT now()")


class WriteModelLookups:
    """Small questions to PostgreSQL that no command asks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ping(self) -> None:
        """Raise unless PostgreSQL answers."""
        async with self.engine.connect() as conn:
            await conn.execute(_PING)

    async def order_version(self, order_id: UUID) -> int | None:
        """The order's version in the write model; None when it has no such order."""
        async with self.engine.connect() as conn:
            found = (await conn.execute(_ORDER_VERSION, {"id": order_id})).first()
            return None if found is None else int(found.version)

    async def versions_page(self, after: str, limit: int) -> list[tuple[str, int, str]]:
        """Orders by id beyond ``after``, each with its current version and status."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_VERSIONS_PAGE, {"after": after, "n": limit})).all()
        return [(str(row.id), int(row.version), str(row.status)) for row in rows]

    async def now(self) -> datetime:
        """The database's clock: every age the drift check measures is on it."""
        async with self.engine.connect() as conn:
            return (await conn.execute(_NOW)).scalar_one()  # type: ignore[no-any-return]

    async def event_ages(self, wanted: list[tuple[str, int]]) -> dict[str, tuple[datetime, float]]:
        """Per order: when its event of the given version was written, and its age in seconds.

        An order whose event is no longer in the event log (outbox ∪ archive) is left out (the
        caller treats it as old: history pruned past the archive's retention is older than any
        freshness SLO).
        """
        if not wanted:
            return {}
        params = {"ids": [i for i, _ in wanted], "versions": [v for _, v in wanted]}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_EVENT_TIMES, params)).all()
        return {
            row.order_id: (row.occurred_at, (row.now - row.occurred_at).total_seconds())
            for row in rows
        }
