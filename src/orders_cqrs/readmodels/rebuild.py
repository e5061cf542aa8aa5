"""Blue/green rebuild of a read model from the outbox event log.

1. A consumer group for the rebuild is created at the stream's end, *before* the fence.
2. The fence: a PostgreSQL snapshot. The scan reads the event log (outbox and its archive,
   ``db/event_log.py``) by position, in short
   transactions, keeping only rows visible in that snapshot (``pg_visible_in_snapshot`` on
   the row's xid8). A row whose transaction was still in flight is not visible, so the scan
   never skips past it into nowhere: it commits after the fence, hence is published after
   the group exists, hence reaches the rebuild through the stream. Rows committed before the
   fence come from the scan (and maybe the stream too: duplicates are no-ops).
3. The group is drained into the new target, readers are switched atomically (one SET, or
   one alias update), the group drains once more for events the live projector wrote to the
   old target just before the switch, then the old target is dropped.

One event the new generation refuses does not abort the rebuild: it is isolated and parked
as a dead letter under the projection's name (``isolation.py``; the catch-up engine does the
same), and the rebuild's record counts it. A store that is down still fails the rebuild.

Exclusive: the caller holds the projection's rebuild lease (``db/rebuilds.py``) for the whole
rebuild, taken before anything is deleted. Holding it, every rebuild group of this projection
on the stream is a dead rebuild's leftover, removed before the new one is created. The group
is created inside the ``try`` whose ``finally`` destroys it, so a rebuild that fails never
leaves its group behind; one that is killed does, and the next rebuild or
``orders-cqrs cleanup`` removes it (retention ignores it meanwhile).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.db.event_log import POSITION, EventLog
from orders_cqrs.db.outbox import row_to_event
from orders_cqrs.db.outbox_archive import require_history
from orders_cqrs.db.rebuilds import RebuildLease
from orders_cqrs.readmodels.engine import EngineSettings, ProjectionEngine
from orders_cqrs.readmodels.isolation import IsolatingApplier
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.status import STATUS_KEY
from orders_cqrs.readmodels.stream_groups import (
    is_rebuild_group,
    rebuild_group,
    remove_groups,
    stream_groups,
)

SCAN_BATCH = 5000  # keyset pages: few round trips, bounded memory


class BlueGreenTarget(ABC):
    """A read model that can be built side by side and switched to atomically."""

    name: str

    @abstractmethod
    async def current(self) -> str:
        """The generation readers use now (a namespace, an index)."""

    @abstractmethod
    async def prepare(self, generation: str) -> Projection:
        """Create an empty generation and return a projection that writes into it."""

    @abstractmethod
    async def switch(self, old: str, new: str) -> None:
        """Point readers (and the live projector) at ``new`` in one atomic step."""

    @abstractmethod
    async def drop(self, generation: str) -> None:
        """Delete a generation nobody reads any more."""


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What the rebuild did."""

    old_namespace: str
    new_namespace: str
    scanned: int
    caught_up: int
    dead_lettered: int = 0  # events parked instead of applied (scan and catch-up)


def next_generation(current: str) -> str:
    """v1 → v2, orders-support-v3 → orders-support-v4."""
    stem = current.rstrip("0123456789")
    number = current[len(stem) :]
    return f"{stem}{int(number) + 1 if number else 2}"


async def rebuild(
    target: BlueGreenTarget,
    log: EventLog,
    redis: Redis,
    dead_letters: DeadLetterRepository,
    settings: EngineSettings,
    *,
    lease: RebuildLease,
    on_total: Callable[[int], None] = lambda _: None,
    on_progress: Callable[[int], None] = lambda _: None,
    drop_old: bool = True,
) -> RebuildReport:
    """Rebuild ``target`` into a new generation while the live one serves, then switch.

    ``lease`` must be ``target``'s and held; the caller releases it. The outcome is recorded
    on it (done, or failed with the error) for every process to see. Refuses with
    ``HistoryGone`` if pruning the outbox archive left some order without its latest event.
    """
    try:
        # Before anything is deleted or created: a log that lost orders to archive pruning
        # would build a generation without them (``HistoryGone``, recorded as the outcome).
        await require_history(log.engine)
        report = await _rebuild(
            target, log, redis, dead_letters, settings, lease, on_total, on_progress
        )
        if drop_old:
            await target.drop(report.old_namespace)
    except BaseException as error:
        await lease.failed(f"{type(error).__name__}: {error}")
        raise
    await lease.finished(report.caught_up, report.dead_lettered)
    return report


async def _rebuild(
    target: BlueGreenTarget,
    log: EventLog,
    redis: Redis,
    dead_letters: DeadLetterRepository,
    settings: EngineSettings,
    lease: RebuildLease,
    on_total: Callable[[int], None],
    on_progress: Callable[[int], None],
) -> RebuildReport:
    old = await target.current()
    new = next_generation(old)
    group = rebuild_group(target.name, new)
    # Recorded before the group exists, so retention and cleanup never take it for a dead one.
    await lease.planned(old=old, new=new, group=group)
    leftovers = [
        g["name"]
        for g in await stream_groups(redis, settings.stream)
        if is_rebuild_group(g["name"], target.name)
    ]
    await remove_groups(redis, settings.stream, leftovers)  # we hold the lease: all are dead
    try:
        projection = await target.prepare(new)
        catch_up = ProjectionEngine(projection, redis, dead_letters, settings, group=group)
        applier = IsolatingApplier(
            projection,
            dead_letters,
            max_attempts=settings.max_attempts,
            retry_base_seconds=settings.retry_base_seconds,
        )
        await redis.xgroup_create(settings.stream, group, id="$", mkstream=True)
        scanned = await _scan_fenced(log, applier, lease, on_total, on_progress)
        await catch_up.run_until_idle()
        # The lease's session must still be alive (hence still hold the lock) right before
        # readers are switched: if the connection broke, another rebuild may be under way.
        await lease.ensure_held()
        await target.switch(old, new)
        # One more drain is enough. Every event published since the group was created is in
        # the group, so this drain applies whatever the live projector may have written to
        # the old generation just before the switch; anything published from now on, the
        # live projector writes to the new generation itself (it resolves the generation
        # per write: the Lua script reads summary:active, OpenSearch resolves the alias).
        await catch_up.run_until_idle()
        applied, parked = await redis.hmget(
            STATUS_KEY.format(group=group), ["applied", "dead_lettered"]
        )
    finally:
        await remove_groups(redis, settings.stream, [group])
    dead_lettered = applier.dead_lettered + int(parked or 0)
    return RebuildReport(old, new, scanned, int(applied or 0), dead_lettered)


async def _scan_fenced(
    log: EventLog,
    applier: IsolatingApplier,
    lease: RebuildLease,
    on_total: Callable[[int], None],
    on_progress: Callable[[int], None],
) -> int:
    snapshot, total = await log.fence()
    on_total(total)
    await lease.progress(0, total)
    after, scanned = 0, 0
    while True:
        rows = await log.page(snapshot, after=after, limit=SCAN_BATCH)
        if not rows:
            return scanned
        # JSON comes as text and is parsed once by orjson (load_json), not by the driver.
        await applier.apply([row_to_event(row, f"outbox-{row[POSITION]}") for row in rows])
        scanned += len(rows)
        after = rows[-1][POSITION]
        on_progress(len(rows))
        await lease.progress(scanned, dead_lettered=applier.dead_lettered)
