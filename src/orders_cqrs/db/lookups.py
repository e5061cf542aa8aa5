"""Read-only lookups on the write model, for readers and tooling that are not commands."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_PING = text("SELECT 1")
_ORDER_VERSION = text("SELECT version FROM orders WHERE id = :id")
_VERSIONS_PAGE = text("SELECT id, version FROM orders WHERE id > :after ORDER BY id LIMIT :n")


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

    async def versions_page(self, after: str, limit: int) -> list[tuple[str, int]]:
        """Orders by id beyond ``after``, each with its current version."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_VERSIONS_PAGE, {"after": after, "n": limit})).all()
        return [(str(row.id), int(row.version)) for row in rows]
