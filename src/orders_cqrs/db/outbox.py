"""Outbox writes: one row per accepted command, in the command's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.db.tables import outbox
from orders_cqrs.domain.events import OrderEvent


class OutboxRepository:
    """Appends events to ``outbox``; a statement trigger NOTIFYs the relay on commit."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, events: Sequence[OrderEvent], headers: dict[str, Any]) -> None:
        """Insert the events; ``position``, ``occurred_at`` and ``txid`` come from PostgreSQL."""
        if not events:
            return
        await self._conn.execute(
            insert(outbox),
            [
                {
                    "event_id": event.event_id,
                    "aggregate_id": event.aggregate_id,
                    "aggregate_version": event.aggregate_version,
                    "event_type": event.type.value,
                    "schema_version": event.schema_version,
                    "headers": headers,
                    "payload": event.to_payload(),
                }
                for event in events
            ],
        )
