"""What ops do with projections: status and lag, the stream's groups, dead letters, rebuilds.

One object per process, so the HTTP admin, the ops page and the dashboards' freshness all
read status the same way. A rebuild is exclusive across processes and machines (its lease is
a PostgreSQL lock, ``db/rebuilds.py``) and its state lives in PostgreSQL, so every replica
reports the same rebuild whichever process runs it. The tasks kept here only stop the event
loop from dropping a rebuild this process started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from redis.asyncio import Redis

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.db.event_log import EventLog
from orders_cqrs.db.outbox_archive import require_history
from orders_cqrs.db.rebuilds import RebuildLease, RebuildRegistry
from orders_cqrs.failures.refusals import RebuildRunning, RebuildUnsupported
from orders_cqrs.observability import tracing
from orders_cqrs.readmodels.engine import EngineSettings
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget, RebuildReport, rebuild
from orders_cqrs.readmodels.status import group_lag, read_status
from orders_cqrs.readmodels.stream_groups import stream_groups

log = structlog.get_logger(__name__)


class ProjectionAdmin:
    """Status, stream groups, dead letters and rebuilds of the projections this process knows."""

    def __init__(
        self,
        projections: dict[str, Projection],
        redis: Redis,
        dead_letters: DeadLetterRepository,
        event_log: EventLog,
        engine_settings: EngineSettings,
        rebuild_target: Callable[[str], BlueGreenTarget],
        registry: RebuildRegistry,
        stream_projections: frozenset[str],
    ) -> None:
        self.projections = projections
        self.redis = redis
        self.dead_letters = dead_letters
        self.event_log = event_log
        self.engine_settings = engine_settings
        self.rebuild_target = rebuild_target
        self.registry = registry
        self.stream_projections = stream_projections
        self.rebuilds: dict[str, asyncio.Task[RebuildReport]] = {}

    async def status(self, name: str) -> dict[str, Any]:
        """The engine's status hash of ``name`` with its lag behind the stream."""
        return await read_status(self.redis, self.engine_settings.stream, name)

    async def overview(self, name: str) -> dict[str, Any]:
        """Status, open dead letters and the last rebuild of ``name``, as ops see it."""
        status = await self.status(name)
        status["dead_letters"] = await self.dead_letters.count_open(name)
        status["rebuild"] = await self.rebuild_state(name)
        return status

    async def rebuild_state(self, name: str) -> dict[str, Any] | None:
        """The last rebuild of ``name`` from any process; None if it was never rebuilt."""
        record = await self.registry.last(name)
        return record.to_dict() if record is not None else None

    async def groups(self) -> list[dict[str, Any]]:
        """Every consumer group on the stream with its lag, and what it belongs to.

        ``projection`` and ``rebuild`` groups count for stream retention; an ``orphaned`` one
        (a killed rebuild's, a retired projection's) does not, and is listed so that nothing
        holds the stream unseen.
        """
        stream = self.engine_settings.stream
        found = await stream_groups(self.redis, stream)
        running = await self.registry.running_groups()  # after the groups: see stream_groups
        listed = []
        for group in found:
            name = group["name"]
            lag_events, lag_seconds = await group_lag(self.redis, stream, name)
            kind = "orphaned"
            if name in self.stream_projections:
                kind = "projection"
            elif name in running:
                kind = "rebuild"
            listed.append(
                {
                    "name": name,
                    "kind": kind,
                    "consumers": int(group["consumers"]),
                    "pending": int(group["pending"]),
                    "last_delivered_id": str(group["last-delivered-id"]),
                    "lag_events": lag_events,
                    "lag_seconds": round(lag_seconds, 3),
                }
            )
        return listed

    def rebuildable(self, name: str) -> BlueGreenTarget:
        """The blue/green target of ``name``; ``RebuildUnsupported`` if it has none."""
        try:
            return self.rebuild_target(name)
        except ValueError as error:  # a projection without a blue/green target
            raise RebuildUnsupported(str(error)) from error

    async def start_rebuild(self, target: BlueGreenTarget, started_by: str) -> None:
        """Rebuild ``target`` in the background of this process, or refuse.

        The lease is taken here, before the request is answered, so a refusal is the answer:
        ``RebuildRunning`` when a rebuild of the projection runs anywhere, ``HistoryGone``
        when the event log lost orders to archive pruning.
        """
        await require_history(self.event_log.engine)  # refused (409) before the lease
        lease = await self.registry.acquire(target.name, started_by)
        if lease is None:
            raise RebuildRunning(await self.registry.refusal(target.name))
        task = asyncio.create_task(self._run(target, lease))
        self.rebuilds[target.name] = task
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[RebuildReport]) -> None:
        """Log how a background rebuild ended (its state is in PostgreSQL already)."""
        if task.cancelled():
            log.warning("rebuild_cancelled")
        elif (error := task.exception()) is not None:
            log.error("rebuild_failed", error=f"{type(error).__name__}: {error}")
        else:
            report = task.result()
            log.info(
                "rebuild_done",
                old=report.old_namespace,
                new=report.new_namespace,
                dead_lettered=report.dead_lettered,
            )

    async def _run(self, target: BlueGreenTarget, lease: RebuildLease) -> RebuildReport:
        # The task inherits the request's trace: a scan of the whole history is no part of it.
        with tracing.quiet():
            return await self._rebuild(target, lease)

    async def _rebuild(self, target: BlueGreenTarget, lease: RebuildLease) -> RebuildReport:
        async with lease:
            return await rebuild(
                target,
                self.event_log,
                self.redis,
                self.dead_letters,
                self.engine_settings,
                lease=lease,
            )
