"""A projection that starts late backfills from the outbox before it follows the stream.

A new consumer group sees only what the stream still holds, and retention trims what every
live group has read (``relay/stream_retention.py``): a projection that never ran, or whose
group was deleted, would silently miss every trimmed event. So a projector that finds no group
first fills its read model from the outbox, with the fenced scan a rebuild uses
(``db/event_log.py``), then follows the stream.

The hand-off, and why nothing falls between the scan and the stream (as in a rebuild):

1. The group is created at the stream's end (``$``) *before* the fence is taken. From then
   on every entry added to the stream reaches the group, and retention keeps it until the
   group has read it (the group is live and its last delivered id is that end).
2. The fence is a PostgreSQL snapshot; the scan reads every outbox row visible in it. A row
   whose transaction commits after the fence is published after its commit (the relay claims
   only committed rows), hence after the group was created, hence arrives through the group.
   A row committed before the fence comes from the scan, and perhaps from the group too if it
   was published late: applying it twice is a no-op, and an older version arriving after a
   newer one is stale (the projections' version guards, DESIGN §2.7).

Creating the group at the stream position of the fence instead would need that position,
which the outbox does not know (the relay publishes rows in batches after commit, in any
order between relays), and a group created after the scan could find entries it needs
trimmed meanwhile: no group held them. Creating it first costs at most a few duplicates.

Crashes and races. The check, the group's creation and the scan run under the group's
backfill lock (``db/backfills.py``), so of two projectors starting together one backfills
and the other waits, then finds the group and follows it. A mark in Redis (``BACKFILL_KEY``)
is set before the group is created and removed after the scan: a projector killed mid-scan
leaves group and mark behind, and the next one to take the lock scans again (with a new
fence; the group still holds everything since it was created). A group without a mark is a
projection that is up to date as far as the stream goes: nothing to do.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import structlog
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError

from orders_cqrs.db.backfills import BackfillLocks
from orders_cqrs.db.event_log import POSITION, EventLog
from orders_cqrs.db.outbox import row_to_event
from orders_cqrs.db.outbox_archive import require_history
from orders_cqrs.failures.refusals import HistoryGone
from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.engine import ProjectionEngine
from orders_cqrs.readmodels.status import STATUS_KEY
from orders_cqrs.readmodels.stream_groups import stream_groups

log = structlog.get_logger(__name__)

BACKFILL_KEY = "projection:{group}:backfill"
SCAN_BATCH = 2000


class Backfill:
    """The engine's ``GroupStarter``: create a missing group and backfill behind it."""

    def __init__(self, event_log: EventLog, locks: BackfillLocks) -> None:
        self.event_log = event_log
        self.locks = locks

    async def join(self, engine: ProjectionEngine, stop: asyncio.Event) -> bool:
        """Make sure ``engine``'s group exists and its read model holds the history before
        it; False when ``stop`` was set first."""
        # The usual case, without PostgreSQL: a projector rejoining its group after a Redis
        # hiccup must not wait for the write store. Safe without the lock because the mark is
        # set before the group is created and removed only after the scan: a group seen with
        # no mark (group read first) is a finished backfill, or a group older than backfills.
        if await _group_exists(engine) and not await engine.redis.exists(_mark(engine)):
            return True
        lock = await self.locks.acquire(engine.group, stop)
        if lock is None:
            return False
        try:
            return await self._join(engine, stop)
        except (SQLAlchemyError, psycopg.Error) as error:
            raise StoreUnavailable(f"backfill of {engine.group}: {error}") from error  # retried
        finally:
            await lock.release()

    async def _join(self, engine: ProjectionEngine, stop: asyncio.Event) -> bool:
        redis, stream, group = engine.redis, engine.settings.stream, engine.group
        mark = _mark(engine)
        exists = await _group_exists(engine)  # again, under the lock: this one decides
        if exists and not await redis.exists(mark):
            return True
        if not exists:
            await redis.set(mark, "pending")  # first: a crash from here on leaves the mark
            await redis.xgroup_create(stream, group, id="$", mkstream=True)
        log.info("projection_backfill_started", projection=group, resumed=exists)
        scanned = await self._scan(engine, stop)
        if scanned is None:
            return False  # stopping: the mark stays, the next start scans again
        await _finished(redis, group, mark, scanned)
        return True

    async def _scan(self, engine: ProjectionEngine, stop: asyncio.Event) -> int | None:
        started = time.monotonic()
        try:
            await require_history(self.event_log.engine)
        except HistoryGone as gone:
            # A projector must run, so it backfills what the log still holds; but it says, as
            # loudly as a rebuild refusing would, which orders it cannot have.
            log.error("projection_backfill_history_gone", projection=engine.group, detail=str(gone))
        snapshot, total = await self.event_log.fence()
        after, scanned = 0, 0
        while not stop.is_set():
            rows = await self.event_log.page(snapshot, after=after, limit=SCAN_BATCH)
            if not rows:
                log.info(
                    "projection_backfill_done",
                    projection=engine.group,
                    events=scanned,
                    seconds=round(time.monotonic() - started, 3),
                )
                return scanned
            events = [row_to_event(row, f"outbox-{row[POSITION]}") for row in rows]
            if not await engine.apply_batch(events, stop):
                return None
            scanned += len(rows)
            after = rows[-1][POSITION]
            log.info("projection_backfill_progress", projection=engine.group, of=total, at=scanned)
        return None


def _mark(engine: ProjectionEngine) -> str:
    return BACKFILL_KEY.format(group=engine.group)


async def _group_exists(engine: ProjectionEngine) -> bool:
    groups = await stream_groups(engine.redis, engine.settings.stream)
    return any(g["name"] == engine.group for g in groups)


async def _finished(redis: Redis, group: str, mark: str, scanned: int) -> None:
    """Remove the mark; the status hash keeps how many backfills ran and what they read."""
    pipe = redis.pipeline(transaction=True)
    pipe.delete(mark)
    status = STATUS_KEY.format(group=group)
    pipe.hincrby(status, "backfills", 1)
    pipe.hset(status, "backfilled_events", scanned)
    await pipe.execute()
