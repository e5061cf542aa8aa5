"""Each projection's lag, measured from the stream by a process other than the projector.

A projector that exports its own lag takes the series with it when it dies, and a dead
projector is exactly when lag matters: the dashboards would show "no data" where they should
show a rising line. So the relay (and the all-in-one ``dev`` process) reads every projection's
consumer group from Redis itself — ``XINFO GROUPS`` for unread entries, the ``XPENDING``
summary for delivered-but-unacknowledged ones and the oldest of them — and exports the
numbers with the projection as a label. A group that does not exist yet (its projector never
started) lags by the whole stream.

The age of the oldest unapplied entry comes from its stream id, whose first part is the
millisecond the relay appended it: no extra read of the entry is needed, and it measures the
time since publication (the relay's own commit → publish histogram covers the part before).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from orders_cqrs.failures.backoff import pause
from orders_cqrs.observability import metrics

log = structlog.get_logger(__name__)

EXPORT_EVERY_SECONDS = 2.0
_COUNT_LIMIT = 100_000  # entries counted one by one when Redis cannot say the lag itself


@dataclass(frozen=True, slots=True)
class GroupLag:
    """One consumer group's position against the stream."""

    unread: int
    pending: int
    oldest_unapplied_id: str | None

    @property
    def lag(self) -> int:
        """Entries not acknowledged: never delivered plus delivered and not acknowledged."""
        return self.unread + self.pending

    def oldest_age(self, now: float) -> float:
        """Seconds since the oldest unacknowledged entry was appended; 0 when caught up."""
        if self.oldest_unapplied_id is None:
            return 0.0
        return max(0.0, now - id_seconds(self.oldest_unapplied_id))


def id_seconds(stream_id: str) -> float:
    """The Unix time a server-generated stream id was appended at."""
    return int(stream_id.partition("-")[0]) / 1000


async def measure(redis: Redis, stream: str, groups: Collection[str]) -> dict[str, GroupLag]:
    """The lag of each of ``groups`` (absent ones lag by the whole stream)."""
    try:
        infos = {_s(g["name"]): g for g in await redis.xinfo_groups(stream)}
    except ResponseError:
        return {group: GroupLag(0, 0, None) for group in groups}  # no stream yet
    lags: dict[str, GroupLag] = {}
    for group in groups:
        info = infos.get(group)
        if info is None:
            first = await redis.xrange(stream, count=1)
            lags[group] = GroupLag(
                int(await redis.xlen(stream)), 0, _s(first[0][0]) if first else None
            )
            continue
        lags[group] = await _group_lag(redis, stream, group, info)
    return lags


async def _group_lag(redis: Redis, stream: str, group: str, info: dict[Any, Any]) -> GroupLag:
    last = _s(info["last-delivered-id"])
    unread = info.get("lag")
    if unread is None:
        # Redis cannot tell after deletions or trims inside the group's range: count them.
        unread = len(await redis.xrange(stream, min=f"({last}", max="+", count=_COUNT_LIMIT) or [])
    pending = int(info["pending"])
    oldest: str | None = None
    if pending:
        summary = await redis.xpending(stream, group)
        # The projector may acknowledge between the two reads: then nothing is pending.
        oldest = _s(summary["min"]) if summary.get("min") else None
        pending = int(summary.get("pending") or 0)
    if oldest is None and int(unread):
        after = await redis.xrange(stream, min=f"({last}", max="+", count=1)
        oldest = _s(after[0][0]) if after else None
    return GroupLag(int(unread), pending, oldest)


async def export_once(redis: Redis, stream: str, groups: Collection[str], retention: float) -> None:
    """Measure every group and the stream itself, and set the gauges."""
    lags = await measure(redis, stream, groups)
    now = time.time()
    for group, lag in lags.items():
        metrics.STREAM_GROUP_LAG_EVENTS.labels(group).set(lag.lag)
        metrics.STREAM_GROUP_PENDING_EVENTS.labels(group).set(lag.pending)
        metrics.STREAM_GROUP_OLDEST_UNAPPLIED_AGE_SECONDS.labels(group).set(lag.oldest_age(now))
    try:
        length = int(await redis.xlen(stream))
        first = await redis.xrange(stream, count=1) if length else []
    except ResponseError:
        length, first = 0, []
    metrics.STREAM_LENGTH_ENTRIES.set(length)
    metrics.STREAM_OLDEST_ENTRY_AGE_SECONDS.set(
        max(0.0, now - id_seconds(_s(first[0][0]))) if first else 0.0
    )
    metrics.STREAM_RETENTION_SECONDS.set(retention)
    metrics.STREAM_LAG_MEASURED_TIMESTAMP.set(now)


async def export_forever(
    redis: Redis,
    stream: str,
    groups: Collection[str],
    retention: float,
    stop: asyncio.Event,
    every: float = EXPORT_EVERY_SECONDS,
) -> None:
    """Export every ``every`` seconds until stopped; a failed round is logged, never fatal."""
    while not stop.is_set():
        try:
            await export_once(redis, stream, groups, retention)
        except Exception as error:  # measuring must never stop the relay
            log.warning("stream_lag_export_failed", error=repr(error))
        await pause(stop, every)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
