"""Projection status: what was applied last, counters, heartbeat, and lag from the group."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from orders_cqrs.relay.wire import StreamEvent

STATUS_KEY = "projection:{group}:status"


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


class StatusBoard:
    """The projection's status hash in Redis, written by the engine after every batch."""

    def __init__(self, redis: Redis, stream: str, group: str) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.key = STATUS_KEY.format(group=group)

    def record(
        self, pipe: Pipeline, events: Sequence[StreamEvent], outcomes: Sequence[str]
    ) -> None:
        """Queue on ``pipe``: the newest entry handled, the outcome counts, a heartbeat."""
        pipe.hset(self.key, "heartbeat", datetime.now(UTC).isoformat())
        if events:
            last = max(events, key=lambda e: _id_key(e.stream_id))
            pipe.hset(self.key, mapping={**_applied(last), "last_stream_id": last.stream_id})
        self._count(pipe, outcomes)

    def record_scanned(
        self, pipe: Pipeline, events: Sequence[StreamEvent], outcomes: Sequence[str]
    ) -> None:
        """Queue on ``pipe`` what a backfill applied from the outbox: the newest event by
        position (outbox rows have no stream id) and the outcome counts. Without it, a
        projection that got its whole history from a backfill would say it applied nothing."""
        if events:
            pipe.hset(self.key, mapping=_applied(max(events, key=lambda e: e.position)))
        self._count(pipe, outcomes)

    def _count(self, pipe: Pipeline, outcomes: Sequence[str]) -> None:
        for outcome, n in Counter(outcomes).items():
            pipe.hincrby(self.key, outcome, n)

    async def count_retry(self) -> None:
        """One more retry."""
        await self.redis.hincrby(self.key, "retries", 1)

    async def count_dead_letter(self) -> None:
        """One more dead letter."""
        await self.redis.hincrby(self.key, "dead_letters_total", 1)

    async def heartbeat(self) -> None:
        """The engine is alive."""
        await self.redis.hset(self.key, "heartbeat", datetime.now(UTC).isoformat())


def _applied(event: StreamEvent) -> dict[FieldT, EncodableT]:
    return {
        "last_event_id": str(event.event_id),
        "last_position": event.position,
        "last_occurred_at": event.occurred_at.isoformat(),
    }


async def group_lag(redis: Redis, stream: str, group: str) -> tuple[int, float]:
    """(entries not yet acknowledged, age in seconds of the oldest of them)."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0, 0.0
    info = next((g for g in groups if _s(g["name"]) == group), None)
    if info is None:
        length = int(await redis.xlen(stream))
        oldest = await redis.xrange(stream, count=1)
        return length, _age(oldest[0][1] or {}) if oldest else 0.0
    last = _s(info["last-delivered-id"])
    pending = int(info["pending"])
    unread = info.get("lag")
    if unread is None:
        unread = len(await redis.xrange(stream, min=f"({last}", max="+", count=100_000) or [])
    oldest_id: str | None = None
    if pending:
        summary = await redis.xpending(stream, group)
        # The projector may acknowledge between the two reads: then nothing is pending.
        oldest_id = _s(summary["min"]) if summary.get("min") else None
    elif int(unread):
        after = await redis.xrange(stream, min=f"({last}", max="+", count=1)
        oldest_id = _s(after[0][0]) if after else None
    age = 0.0
    if oldest_id is not None:
        entry = await redis.xrange(stream, min=oldest_id, max=oldest_id, count=1)
        age = _age(entry[0][1] or {}) if entry else 0.0
    return pending + int(unread), age


def _age(fields: dict[Any, Any]) -> float:
    raw = fields.get("occurred_at") or fields.get(b"occurred_at")
    if raw is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - datetime.fromisoformat(_s(raw))).total_seconds())


async def read_status(redis: Redis, stream: str, group: str) -> dict[str, Any]:
    """Everything ops see about one projection."""
    raw = {_s(k): _s(v) for k, v in (await redis.hgetall(STATUS_KEY.format(group=group))).items()}
    lag_events, lag_seconds = await group_lag(redis, stream, group)
    counters = (
        *("applied", "duplicate", "stale", "dead_lettered", "retries", "dead_letters_total"),
        *("backfills", "backfilled_events"),  # a late start's outbox scans (backfill.py)
    )
    return {
        "name": group,
        "last_event_id": raw.get("last_event_id"),
        "last_position": int(raw["last_position"]) if "last_position" in raw else None,
        "last_stream_id": raw.get("last_stream_id"),
        "lag_events": lag_events,
        "lag_seconds": round(lag_seconds, 3),
        "heartbeat": raw.get("heartbeat"),
        **{name: int(raw.get(name, 0)) for name in counters},
    }
