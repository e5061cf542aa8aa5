"""Read-only lookups on the write model, for readers and tooling that are not commands."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_PING = text("SELECT 1")
_ORDER_EXISTS = text("SELECT 1 FROM orders WHERE id = :id")
_VERSIONS_PAGE = text("SELECT id, version FROM orders WHERE id > :after ORDER BY id LIMIT :n")


class WriteModelLookups:
    """Small questions to PostgreSQL that no command asks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ping(self) -> None:
        """Raise unless PostgreSQL answers."""
        async with self.engine.connect() as conn:
            await conn.execute(_PING)

    async def order_exists(self, order_id: UUID) -> bool:
        """Whether the write model has this order."""
        async with self.engine.connect() as conn:
            found = await conn.execute(_ORDER_EXISTS, {"id": order_id})
            return found.first() is not None

    async def versions_page(self, after: str, limit: int) -> list[tuple[str, int]]:
        """Orders by id beyond ``after``, each with its current version."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_VERSIONS_PAGE, {"after": after, "n": limit})).all()
        return [(str(row.id), int(row.version)) for row in rows]
