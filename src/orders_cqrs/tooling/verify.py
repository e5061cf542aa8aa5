"""Drift check: every order's version (and status) in PostgreSQL against each read model.

Reads may lag, never lie (DESIGN §2.8): an order a read model holds at an older version, or
not at all, is *in flight* while its next event may still arrive, and *drift* once it cannot
be in flight any more. It cannot be in flight when

- it has been behind for longer than the freshness SLO (``ORDERS_FRESHNESS_SLO_SECONDS``):
  the age of the first event the read model lacks, on the database's clock; or
- that event was written before the moment the backlog was seen drained (every outbox row
  published and every group's lag zero): whatever was committed then has been delivered, so
  a read model still without it lost it (an entry lost in a Redis failover, say).

The second rule makes a quiet system's check exact at once; the first makes the check
meaningful on a busy one, whose backlog never drains. A read model *ahead* of the write
model, or at the same version with another status, is drift whatever its age.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis

from orders_cqrs.db.event_log import EventLog
from orders_cqrs.db.lookups import WriteModelLookups
from orders_cqrs.readmodels.backfill import BACKFILL_KEY
from orders_cqrs.readmodels.status import group_lag

BATCH = 1000


class VersionProbe(Protocol):
    """A read model that can tell which version of each order it holds."""

    name: str

    async def versions(self, order_ids: list[str]) -> list[int | None]:
        """The read model's version per order (None when missing)."""
        ...


@runtime_checkable
class StateProbe(Protocol):
    """A read model that can also tell each order's status (compared at equal versions)."""

    name: str

    async def states(self, order_ids: list[str]) -> list[tuple[int, str] | None]:
        """The read model's (version, status) per order (None when missing)."""
        ...


@dataclass
class Drift:
    """Counts for one read model: ``missing`` and ``behind`` count drift only; orders
    behind within the SLO (and before the drain) are ``in_flight``."""

    projection: str
    checked: int = 0
    missing: int = 0
    behind: int = 0
    ahead: int = 0
    status: int = 0
    in_flight: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No order differs beyond what is in flight."""
        return self.missing == self.behind == self.ahead == self.status == 0

    def note(self, example: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(example)


@dataclass(frozen=True, slots=True)
class Freshness:
    """When a lagging order stops being in flight."""

    slo_seconds: float
    drained_at: datetime | None = None  # the database's clock when the backlog was zero


async def backlog(
    log: EventLog, lookups: WriteModelLookups, redis: Redis, stream: str, groups: Sequence[str]
) -> tuple[int, datetime]:
    """Events not yet in every read model (unpublished outbox rows plus each group's lag, and
    one for each backfill under way, whose group shows no lag while it scans the outbox),
    and the database's clock taken *before* counting them."""
    now = await lookups.now()
    unpublished = await log.unpublished()
    lags = [(await group_lag(redis, stream, group))[0] for group in groups]
    marks = [BACKFILL_KEY.format(group=group) for group in groups]
    backfilling = await redis.exists(*marks) if marks else 0
    return unpublished + sum(lags) + int(backfilling), now


async def wait_for_drain(
    measure: Callable[[], Awaitable[tuple[int, datetime]]],
    budget_seconds: float,
    poll: float = 0.25,
) -> datetime | None:
    """When ``measure()`` first reported zero backlog within ``budget_seconds``, else None."""
    deadline = time.monotonic() + budget_seconds
    while True:
        left, at = await measure()
        if left == 0:
            return at
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(poll)


async def _seen(probe: VersionProbe, ids: list[str]) -> list[tuple[int, str | None] | None]:
    """(version, status) per order; the status is None for a probe that cannot tell it."""
    if isinstance(probe, StateProbe):
        return [None if s is None else (s[0], s[1]) for s in await probe.states(ids)]
    return [None if v is None else (v, None) for v in await probe.versions(ids)]


async def compare(
    lookups: WriteModelLookups, probes: Sequence[VersionProbe], freshness: Freshness
) -> list[Drift]:
    """Compare every order's write-model version and status with each probe's."""
    drifts = [Drift(probe.name) for probe in probes]
    after = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = await lookups.versions_page(after, BATCH)
        if not rows:
            return drifts
        ids = [order_id for order_id, _, _ in rows]
        for probe, drift in zip(probes, drifts, strict=True):
            lagging: list[tuple[str, int, int | None]] = []
            for (order_id, truth, status), seen in zip(rows, await _seen(probe, ids), strict=True):
                drift.checked += 1
                if seen is None or seen[0] < truth:
                    lagging.append((order_id, truth, seen[0] if seen else None))
                elif seen[0] > truth:
                    drift.ahead += 1
                    drift.note(f"{order_id}: truth {truth}, read model {seen[0]} (ahead)")
                elif seen[1] is not None and seen[1] != status:
                    drift.status += 1
                    drift.note(f"{order_id}: v{truth} {status}, read model {seen[1]}")
            await _classify(lookups, drift, lagging, freshness)
        after = ids[-1]


async def _classify(
    lookups: WriteModelLookups,
    drift: Drift,
    lagging: list[tuple[str, int, int | None]],
    freshness: Freshness,
) -> None:
    """In flight or drift, by the age of the first event each lagging order lacks."""
    ages = await lookups.event_ages([(order_id, (seen or 0) + 1) for order_id, _, seen in lagging])
    for order_id, truth, seen in lagging:
        written, age = ages.get(order_id, (None, float("inf")))
        settled = freshness.drained_at is not None and (
            written is None or written < freshness.drained_at
        )
        if age <= freshness.slo_seconds and not settled:
            drift.in_flight += 1
            continue
        if seen is None:
            drift.missing += 1
        else:
            drift.behind += 1
        lag = "gone from the outbox" if written is None else f"behind for {age:.1f} s"
        drift.note(f"{order_id}: truth {truth}, read model {seen} ({lag})")
