"""Drift check: every order's version in PostgreSQL against each read model's source_version."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from orders_cqrs.db.event_log import EventLog
from orders_cqrs.db.lookups import WriteModelLookups
from orders_cqrs.readmodels.status import group_lag

BATCH = 1000


class VersionProbe(Protocol):
    """A read model that can tell which version of each order it holds."""

    name: str

    async def versions(self, order_ids: list[str]) -> list[int | None]:
        """The read model's version per order (None when missing)."""
        ...


@dataclass
class Drift:
    """Counts for one read model."""

    projection: str
    checked: int = 0
    missing: int = 0
    behind: int = 0
    ahead: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No order differs."""
        return self.missing == self.behind == self.ahead == 0


async def backlog(log: EventLog, redis: Redis, stream: str, groups: Sequence[str]) -> int:
    """Events not yet in every read model: unpublished outbox rows plus each group's lag."""
    unpublished = await log.unpublished()
    lags = [(await group_lag(redis, stream, group))[0] for group in groups]
    return unpublished + sum(lags)


async def wait_for_drain(
    measure: Callable[[], Awaitable[int]], budget_seconds: float, poll: float = 0.25
) -> bool:
    """True once ``measure()`` reports zero backlog within ``budget_seconds``."""
    deadline = time.monotonic() + budget_seconds
    while True:
        if await measure() == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)


async def compare(lookups: WriteModelLookups, probes: Sequence[VersionProbe]) -> list[Drift]:
    """Compare every order's write-model version with each probe's."""
    drifts = [Drift(probe.name) for probe in probes]
    after = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = await lookups.versions_page(after, BATCH)
        if not rows:
            return drifts
        ids = [order_id for order_id, _ in rows]
        for probe, drift in zip(probes, drifts, strict=True):
            for order_id, truth, seen in zip(
                ids, (version for _, version in rows), await probe.versions(ids), strict=True
            ):
                drift.checked += 1
                if seen is None:
                    drift.missing += 1
                elif seen < truth:
                    drift.behind += 1
                elif seen > truth:
                    drift.ahead += 1
                else:
                    continue
                if len(drift.examples) < 5:
                    drift.examples.append(f"{order_id}: truth {truth}, read model {seen}")
        after = ids[-1]
