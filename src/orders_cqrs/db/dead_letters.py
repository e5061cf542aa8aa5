"""Dead letters: events a projection could not apply, parked in PostgreSQL with their error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.db.tables import dead_letters
from orders_cqrs.relay.wire import StreamEvent


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One parked event."""

    id: int
    projection: str
    stream_id: str
    event_id: str
    position: int
    aggregate_id: str
    aggregate_version: int
    event_type: str
    entry: dict[str, Any]
    error: str
    attempts: int
    first_failed_at: datetime
    failed_at: datetime  # the last failure
    replayed_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the admin API."""
        return {
            "id": self.id,
            "projection": self.projection,
            "stream_id": self.stream_id,
            "event_id": self.event_id,
            "position": self.position,
            "aggregate_id": self.aggregate_id,
            "aggregate_version": self.aggregate_version,
            "event_type": self.event_type,
            "error": self.error,
            "attempts": self.attempts,
            "first_failed_at": self.first_failed_at.isoformat(),
            "failed_at": self.failed_at.isoformat(),
            "replayed_at": self.replayed_at.isoformat() if self.replayed_at else None,
        }


class DeadLetterRepository:
    """Writes and reads ``projection_dead_letters``; each call is its own short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def park(self, projection: str, event: StreamEvent, error: str, attempts: int) -> None:
        """Store (or refresh) the dead letter of ``event`` for ``projection``."""
        stmt = insert(dead_letters).values(
            projection=projection,
            stream_id=event.stream_id,
            event_id=event.event_id,
            position=event.position,
            aggregate_id=event.aggregate_id,
            aggregate_version=event.aggregate_version,
            event_type=event.event_type,
            entry=event.to_entry(),
            error=error[:4000],
            attempts=attempts,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[dead_letters.c.projection, dead_letters.c.event_id],
            set_={
                # A letter replayed and failing again is a new episode; an open one keeps
                # the moment it first failed.
                "first_failed_at": case(
                    (dead_letters.c.replayed_at.is_not(None), func.now()),
                    else_=dead_letters.c.first_failed_at,
                ),
                "error": stmt.excluded.error,
                "attempts": dead_letters.c.attempts + stmt.excluded.attempts,
                "failed_at": func.now(),
                "replayed_at": None,
            },
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def list_for(
        self,
        projection: str,
        *,
        include_replayed: bool = False,
        after_id: int | None = None,
        limit: int = 1000,
    ) -> list[DeadLetter]:
        """Dead letters of a projection, oldest first (by id), from after ``after_id`` on.

        Ids only grow, so paging by the last id shown neither repeats nor skips a letter
        that existed when the first page was read (a re-parked one keeps its id).
        """
        query = select(dead_letters).where(dead_letters.c.projection == projection)
        if not include_replayed:
            query = query.where(dead_letters.c.replayed_at.is_(None))
        if after_id is not None:
            query = query.where(dead_letters.c.id > after_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(dead_letters.c.id).limit(limit))).all()
        return [
            DeadLetter(
                **{
                    **row._mapping,
                    "event_id": str(row.event_id),
                    "aggregate_id": str(row.aggregate_id),
                }
            )
            for row in rows
        ]

    async def mark_replayed(self, ids: list[int]) -> None:
        """Close dead letters whose replay succeeded."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id.in_(ids))
                .values(replayed_at=func.now())
            )

    async def count_open(self, projection: str) -> int:
        """How many are still waiting for a replay."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(func.count()).where(
                    dead_letters.c.projection == projection, dead_letters.c.replayed_at.is_(None)
                )
            )
            return int(result.scalar_one())
