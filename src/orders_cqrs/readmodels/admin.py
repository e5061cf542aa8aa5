"""What ops do with projections: status and lag, dead letters, blue/green rebuilds.

One object per process, so the HTTP admin, the ops page and the dashboards' freshness all
read status the same way. Rebuild tasks are tracked per process (a rebuild started here is
reported here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.db.event_log import EventLog
from orders_cqrs.readmodels.engine import EngineSettings
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget, RebuildReport, rebuild
from orders_cqrs.readmodels.status import read_status


class ProjectionAdmin:
    """Status, dead letters and rebuilds of the projections this process knows."""

    def __init__(
        self,
        projections: dict[str, Projection],
        redis: Redis,
        dead_letters: DeadLetterRepository,
        event_log: EventLog,
        engine_settings: EngineSettings,
        rebuild_target: Callable[[str], BlueGreenTarget],
    ) -> None:
        self.projections = projections
        self.redis = redis
        self.dead_letters = dead_letters
        self.event_log = event_log
        self.engine_settings = engine_settings
        self.rebuild_target = rebuild_target
        self.rebuilds: dict[str, asyncio.Task[RebuildReport]] = {}

    async def status(self, name: str) -> dict[str, Any]:
        """The engine's status hash of ``name`` with its lag behind the stream."""
        return await read_status(self.redis, self.engine_settings.stream, name)

    async def overview(self, name: str) -> dict[str, Any]:
        """Status, open dead letters and the last rebuild of ``name``, as ops see it."""
        status = await self.status(name)
        status["dead_letters"] = await self.dead_letters.count_open(name)
        status["rebuild"] = self.rebuild_state(name)
        return status

    def rebuild_running(self, name: str) -> bool:
        """Whether this process is rebuilding ``name`` right now."""
        task = self.rebuilds.get(name)
        return task is not None and not task.done()

    def start_rebuild(self, target: BlueGreenTarget) -> None:
        """Rebuild ``target`` in the background of this process."""
        self.rebuilds[target.name] = asyncio.create_task(
            rebuild(target, self.event_log, self.redis, self.dead_letters, self.engine_settings)
        )

    def rebuild_state(self, name: str) -> str | None:
        """running, failed: …, done: old → new, or None when none was started here."""
        task = self.rebuilds.get(name)
        if task is None:
            return None
        if not task.done():
            return "running"
        if task.cancelled() or task.exception() is not None:
            return f"failed: {task.exception()!r}"
        report = task.result()
        return f"done: {report.old_namespace} → {report.new_namespace}"
