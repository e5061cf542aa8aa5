"""Claiming and marking outbox rows (PostgreSQL side of the relay)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.stream import StreamEvent

# Claim by the published marker, never by "position > last offset": positions come from an
# identity sequence and are handed out at INSERT, but transactions commit in any order. A
# reader that remembered "I published up to 1041" would skip row 1040 if its transaction
# committed a moment later (the bug class behind Marten #4953 and Watermill #311). The
# partial index on unpublished rows keeps this scan as cheap as an offset.
#
# SKIP LOCKED lets several relays run: each claims rows nobody else holds instead of
# queueing behind them. The lock lasts until this relay's transaction marks the rows.
_CLAIM = text(
    """
    SELECT position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
           occurred_at, headers, payload
      FROM outbox
     WHERE published_at IS NULL
     ORDER BY position
     LIMIT :limit
       FOR UPDATE SKIP LOCKED
    """
)
_MARK = text("UPDATE outbox SET published_at = now() WHERE position = ANY(:positions)")
_BACKLOG = text(
    "SELECT count(*), extract(epoch FROM now() - min(occurred_at))"
    " FROM outbox WHERE published_at IS NULL"
)


async def claim_unpublished(conn: AsyncConnection, limit: int) -> list[StreamEvent]:
    """Lock up to ``limit`` unpublished rows, oldest first."""
    rows = await conn.execute(_CLAIM, {"limit": limit})
    return [row_to_event(row) for row in rows]


def row_to_event(row: Any, stream_id: str = "") -> StreamEvent:
    """An outbox row (with the columns every outbox reader selects) as a stream event."""
    return StreamEvent(
        event_id=row.event_id,
        position=row.position,
        aggregate_id=row.aggregate_id,
        aggregate_version=row.aggregate_version,
        event_type=row.event_type,
        schema_version=row.schema_version,
        occurred_at=row.occurred_at,
        headers=row.headers,
        payload=row.payload,
        stream_id=stream_id,
    )


async def mark_published(conn: AsyncConnection, positions: list[int]) -> None:
    """Mark the claimed rows published (same transaction as the claim)."""
    await conn.execute(_MARK, {"positions": positions})


async def backlog(conn: AsyncConnection) -> tuple[int, float]:
    """Unpublished rows and the age in seconds of the oldest one."""
    count, age = (await conn.execute(_BACKLOG)).one()
    return int(count), float(age or 0.0)
