"""The outbox read as the event log: fenced scans for rebuilds, the unpublished count.

The relay's claim-and-mark statements live in ``db/outbox.py`` (psycopg, hot path); these
are the slower readers of the same table, on the SQLAlchemy engine.

The scans read the ``event_log`` view: ``outbox_archive`` ∪ ``outbox`` (migration 0006).
Archiving moves a row between the two in one transaction, keeping its position and txid,
and each page is one statement over both tables (one snapshot): a row is read once, in
whichever table it is, and the keyset by position goes on across a move (``db/outbox_archive.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SNAPSHOT = text("SELECT pg_current_snapshot()::text")
_FENCED_COUNT = text(
    "SELECT count(*) FROM event_log WHERE pg_visible_in_snapshot(txid, CAST(:snap AS pg_snapshot))"
)
# The columns of ``outbox.CLAIM_SQL``, JSON as text: ``outbox.row_to_event`` reads both.
FENCED_PAGE = text(
    """
    SELECT event_id::text, position, aggregate_id::text, aggregate_version, event_type,
           schema_version, occurred_at, headers::text, payload::text
      FROM event_log
     WHERE position > :after AND pg_visible_in_snapshot(txid, CAST(:snap AS pg_snapshot))
     ORDER BY position
     LIMIT :n
    """
)
_UNPUBLISHED = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")

POSITION = 1  # column index of ``position`` in a page row


class EventLog:
    """Reads of the outbox by position, fenced by a PostgreSQL snapshot."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def fence(self) -> tuple[str, int]:
        """A snapshot to fence a scan with, and how many rows it makes visible.

        A row whose transaction is still in flight is not visible in the snapshot, so a scan
        never skips past it: it commits after the fence and reaches readers by the stream.
        """
        async with self.engine.connect() as conn:
            snapshot = str((await conn.execute(SNAPSHOT)).scalar_one())
            count = (await conn.execute(_FENCED_COUNT, {"snap": snapshot})).scalar_one()
        return snapshot, int(count)

    async def page(self, snapshot: str, *, after: int, limit: int) -> Sequence[Any]:
        """Up to ``limit`` rows visible in ``snapshot`` with a position beyond ``after``."""
        async with self.engine.connect() as conn:
            result = await conn.execute(FENCED_PAGE, {"after": after, "snap": snapshot, "n": limit})
            return result.all()

    async def unpublished(self) -> int:
        """Rows the relay has not published yet."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(_UNPUBLISHED)).scalar_one())
