"""Blue/green rebuild of the Redis summary from the outbox event log.

1. A consumer group for the rebuild is created at the stream's end, *before* the fence.
2. The fence: a PostgreSQL snapshot. The scan reads outbox rows by position, in short
   transactions, keeping only rows visible in that snapshot (``pg_visible_in_snapshot`` on
   the row's xid8). A row whose transaction was still in flight is not visible, so the scan
   does not skip past it into nowhere: it commits after the fence, hence is published after
   the group exists, hence reaches the rebuild through the stream. Rows committed before the
   fence come from the scan (and maybe the stream too: duplicates are no-ops).
3. The group is drained into the new namespace, ``summary:active`` flips (one SET: readers
   switch atomically), the group drains once more for events the live projector wrote to the
   old namespace just before the flip, then the old namespace is deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.projections.engine import EngineSettings, ProjectionEngine
from orders_cqrs.projections.status import STATUS_KEY
from orders_cqrs.projections.summary_keys import ACTIVE_KEY, DEFAULT_NAMESPACE
from orders_cqrs.projections.summary_redis import SummaryProjection
from orders_cqrs.stream import StreamEvent

SCAN_BATCH = 1000
_FENCED_COUNT = text(
    "SELECT count(*) FROM outbox WHERE pg_visible_in_snapshot(txid, CAST(:snap AS pg_snapshot))"
)
_FENCED_PAGE = text(
    """
    SELECT position, event_id, aggregate_id, aggregate_version, event_type, schema_version,
           occurred_at, headers, payload
      FROM outbox
     WHERE position > :after AND pg_visible_in_snapshot(txid, CAST(:snap AS pg_snapshot))
     ORDER BY position
     LIMIT :n
    """
)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What the rebuild did."""

    old_namespace: str
    new_namespace: str
    scanned: int
    caught_up: int


def next_namespace(current: str) -> str:
    """v1 → v2 → …"""
    number = int(current[1:]) if current[1:].isdigit() else 1
    return f"v{number + 1}"


async def rebuild_summary(
    engine: AsyncEngine,
    redis: Redis,
    dead_letters: DeadLetterRepository,
    settings: EngineSettings,
    *,
    on_total: Callable[[int], None] = lambda _: None,
    on_progress: Progress = lambda _: None,
    drop_old: bool = True,
) -> RebuildReport:
    """Rebuild into a fresh namespace while the live one serves, then flip readers to it."""
    old = str(await redis.get(ACTIVE_KEY) or DEFAULT_NAMESPACE)
    new = next_namespace(old)
    await _drop_namespace(redis, new)  # leftovers of an interrupted rebuild
    target = SummaryProjection(redis, namespace=new)
    group = f"summary-rebuild-{new}"
    catch_up = ProjectionEngine(target, redis, dead_letters, settings, group=group)
    await redis.xgroup_create(settings.stream, group, id="$", mkstream=True)
    try:
        scanned = await _scan_fenced(engine, target, on_total, on_progress)
        await catch_up.run_until_idle()
        await redis.set(ACTIVE_KEY, new)
        settle_until = time.monotonic() + 2.0
        while time.monotonic() < settle_until:
            await catch_up.run_until_idle()
        caught_up = await _applied(redis, group)
    finally:
        await redis.xgroup_destroy(settings.stream, group)
        await redis.delete(STATUS_KEY.format(group=group))
    if drop_old:
        await _drop_namespace(redis, old)
    return RebuildReport(old, new, scanned, caught_up)


async def _scan_fenced(
    engine: AsyncEngine,
    target: SummaryProjection,
    on_total: Callable[[int], None],
    on_progress: Progress,
) -> int:
    async with engine.connect() as conn:
        snapshot = str(
            (await conn.execute(text("SELECT pg_current_snapshot()::text"))).scalar_one()
        )
        on_total(int((await conn.execute(_FENCED_COUNT, {"snap": snapshot})).scalar_one()))
    after, scanned = 0, 0
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    _FENCED_PAGE, {"after": after, "snap": snapshot, "n": SCAN_BATCH}
                )
            ).all()
        if not rows:
            return scanned
        events = [
            StreamEvent(
                event_id=row.event_id,
                position=row.position,
                aggregate_id=row.aggregate_id,
                aggregate_version=row.aggregate_version,
                event_type=row.event_type,
                schema_version=row.schema_version,
                occurred_at=row.occurred_at,
                headers=row.headers,
                payload=row.payload,
                stream_id=f"outbox-{row.position}",
            )
            for row in rows
        ]
        await target.apply(events)
        scanned += len(events)
        after = rows[-1].position
        on_progress(len(events))


async def _applied(redis: Redis, group: str) -> int:
    return int(await redis.hget(STATUS_KEY.format(group=group), "applied") or 0)


async def _drop_namespace(redis: Redis, namespace: str) -> None:
    async for key in redis.scan_iter(match=f"summary:{namespace}:*", count=1000):
        await redis.unlink(key)
