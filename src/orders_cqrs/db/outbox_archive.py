"""The outbox's life: published rows are archived after a retention, the archive may be pruned.

The outbox is the relay's work queue and the event log rebuilds scan. Left alone it grows
without bound, and every relay claim, index and vacuum pays for its size. ``orders-cqrs
cleanup`` therefore moves *published* rows older than ``ORDERS_OUTBOX_RETENTION_SECONDS`` to
``outbox_archive`` (same columns, same position, same txid) in bounded batches, one short
transaction each. Rebuilds read the ``event_log`` view (archive ∪ outbox), so archiving loses
no history. Only if ``ORDERS_OUTBOX_ARCHIVE_RETENTION_SECONDS`` is set are archived rows
deleted for good; the highest position deleted is recorded in ``event_log_horizon``, and a
rebuild first checks that every order still has its latest event (``require_history``).

Why not partitions by time (retention = ``DROP PARTITION``)? A partitioned table's unique
constraints must include the partition key, so ``position`` alone could no longer be the key
the relay claims by, and ``event_id`` and (aggregate, version) would lose their global
uniqueness (the latter backs "one event per version"); a partition can only be dropped once
every row in it is published, which the drop does not check; and a missing future partition
fails checkouts. Batches of 5,000 rows, off the hot path, are enough at this scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.failures.refusals import HistoryGone

# The cutoff, and where to stop looking: the first position (in position order) whose event
# occurred after the cutoff. ``published_at >= occurred_at``, so that row is not due and a
# batch never walks the young part of the table; a due row behind it (a long transaction's,
# whose position is lower than its commit order suggests) waits for the next run.
_BOUNDS = """
SELECT now() - make_interval(secs => :age),
       coalesce((SELECT position FROM {table}
                  WHERE occurred_at >= now() - make_interval(secs => :age)
                  ORDER BY position LIMIT 1), 9223372036854775807)
"""

# One batch, one statement, one short transaction: the rows leave the outbox and enter the
# archive together, so any single statement (the rebuild's scan reads ``event_log`` one page
# per statement) sees each row exactly once, in one table or the other, under its unchanged
# position: a keyset scan by position neither misses nor repeats a row that moved between
# two of its pages. The txid moves too, so the scan's snapshot fence judges it as before.
#
# Only published rows move. The relay claims ``published_at IS NULL`` rows and marks them in
# its own transaction; until that commits, the rows read as unpublished here and are not
# picked. SKIP LOCKED passes over any row another transaction holds (no waiting, no long
# locks), and the DELETE repeats the condition: if a picked row changed before it was locked,
# PostgreSQL re-checks the DELETE's WHERE on the newest version (receipts learned this:
# ``db/receipts.py``). The keyset (``position > :after``) keeps each batch from re-walking
# the index entries of rows it just deleted, which stay until vacuum.
_ARCHIVE = """
WITH moved AS (
  DELETE FROM outbox
   WHERE position IN (SELECT position FROM outbox
                       WHERE position > :after AND position < :bound
                         AND published_at < :cutoff
                       ORDER BY position
                       LIMIT :n
                         FOR UPDATE SKIP LOCKED)
     AND published_at < :cutoff
  RETURNING position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
            occurred_at, headers, payload, published_at, txid
), archived AS (
  INSERT INTO outbox_archive (position, event_id, aggregate_id, aggregate_version, event_type,
                              schema_version, occurred_at, headers, payload, published_at, txid)
  SELECT position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
         occurred_at, headers, payload, published_at, txid
    FROM moved
)
SELECT count(*), coalesce(max(position), :after) FROM moved
"""

# Deleting archived rows for good, and recording how far in the same transaction: nobody can
# see history gone without the horizon that says so.
_PRUNE = """
WITH pruned AS (
  DELETE FROM outbox_archive
   WHERE position IN (SELECT position FROM outbox_archive
                       WHERE position > :after AND position < :bound
                         AND published_at < :cutoff
                       ORDER BY position
                       LIMIT :n
                         FOR UPDATE SKIP LOCKED)
  RETURNING position
), horizon AS (
  INSERT INTO event_log_horizon (id, position)
  SELECT 1, max(position) FROM pruned HAVING count(*) > 0
  ON CONFLICT (id) DO UPDATE
     SET position = greatest(event_log_horizon.position, excluded.position), pruned_at = now()
)
SELECT count(*), coalesce(max(position), :after) FROM pruned
"""

_HORIZON = text("SELECT position, pruned_at FROM event_log_horizon WHERE id = 1")
# Events are state transfer (the order's snapshot at that version), so a rebuild reproduces an
# order if its latest event is in the log, whatever older ones were pruned. State and outbox
# commit together: an order's current version always has its event, unless it was pruned.
_LOST = text(
    """
    SELECT count(*), (array_agg(id ORDER BY id))[1:3]
      FROM (SELECT o.id::text AS id FROM orders o
             WHERE NOT EXISTS (SELECT 1 FROM event_log e
                                WHERE e.aggregate_id = o.id
                                  AND e.aggregate_version = o.version)) lost
    """
)


@dataclass(frozen=True, slots=True)
class Horizon:
    """Archived history was pruned up to ``position`` (inclusive), last at ``pruned_at``."""

    position: int
    pruned_at: datetime


class OutboxArchive:
    """Moves published outbox rows to the archive and prunes the archive, batch by batch."""

    def __init__(self, engine: AsyncEngine, *, batch: int = 5000) -> None:
        self.engine = engine
        self.batch = batch

    async def archive(
        self, older_than_seconds: float, on_batch: Callable[[int], None] = lambda _: None
    ) -> int:
        """Move published rows older than the retention to the archive; how many moved."""
        return await self._batches(_ARCHIVE, "outbox", older_than_seconds, on_batch)

    async def prune(
        self, older_than_seconds: float, on_batch: Callable[[int], None] = lambda _: None
    ) -> int:
        """Delete archived rows older than the archive retention for good; how many went."""
        return await self._batches(_PRUNE, "outbox_archive", older_than_seconds, on_batch)

    async def _batches(
        self, sql: str, table: str, age: float, on_batch: Callable[[int], None]
    ) -> int:
        async with self.engine.connect() as conn:
            cutoff, bound = (
                await conn.execute(text(_BOUNDS.format(table=table)), {"age": age})
            ).one()
        statement, after, total = text(sql), 0, 0
        while True:
            params: dict[str, Any] = {"after": after, "bound": bound, "cutoff": cutoff}
            async with self.engine.begin() as conn:  # one transaction per batch
                moved, after = (await conn.execute(statement, {**params, "n": self.batch})).one()
            if moved == 0:
                return total
            total += moved
            on_batch(moved)


async def horizon(engine: AsyncEngine) -> Horizon | None:
    """How far archived history was pruned; None if it never was (the log is whole)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_HORIZON)).one_or_none()
    return Horizon(int(row[0]), row[1]) if row is not None else None


async def require_history(engine: AsyncEngine) -> None:
    """Refuse (``HistoryGone``) to rebuild from a log that no longer holds every order.

    Nothing to check while the archive was never pruned: archiving moves rows, it loses none.
    """
    pruned = await horizon(engine)
    if pruned is None:
        return
    async with engine.connect() as conn:
        lost, examples = (await conn.execute(_LOST)).one()
    if lost == 0:
        return
    raise HistoryGone(
        f"{lost} order(s) have no event left in the event log (e.g. {', '.join(examples)}):"
        f" archived history up to position {pruned.position} was pruned"
        f" (last on {pruned.pruned_at.isoformat()}, ORDERS_OUTBOX_ARCHIVE_RETENTION_SECONDS)."
        " A rebuild from the log would drop them; nothing was changed"
    )
