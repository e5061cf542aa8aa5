"""Stream retention never trims an entry some consumer group has not acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from redis.asyncio import Redis

from orders_cqrs.relay.stream_retention import trim_acknowledged
from tests.helpers.stores import TEST_REDIS_URL

STREAM = "retention.test"


async def _scenario() -> tuple[int, list[str], list[str]]:
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        ids = [await redis.xadd(STREAM, {"n": str(n)}) for n in range(10)]
        await redis.xgroup_create(STREAM, "fast", id="0")
        await redis.xgroup_create(STREAM, "slow", id="0")
        # fast reads and acks everything; slow reads 6 but acks only the first 3
        fast = await redis.xreadgroup("fast", "c1", {STREAM: ">"}, count=100)
        await redis.xack(STREAM, "fast", *[i for i, _ in fast[0][1]])
        slow = await redis.xreadgroup("slow", "c1", {STREAM: ">"}, count=6)
        await redis.xack(STREAM, "slow", *[i for i, _ in slow[0][1][:3]])
        trimmed = await trim_acknowledged(redis, STREAM, keep_seconds=0)
        left = [i for i, _ in await redis.xrange(STREAM)]
        return trimmed, ids, left
    finally:
        await redis.aclose()


def test_trim_stops_at_the_oldest_entry_a_group_still_holds_pending(
    db: psycopg.Connection[Any],
) -> None:
    trimmed, ids, left = asyncio.run(_scenario())
    assert trimmed == 3
    assert left == ids[3:]


async def _young_entries_are_kept() -> int:
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await redis.xadd(STREAM, {"n": "1"})
        await redis.xgroup_create(STREAM, "all", id="0")
        read = await redis.xreadgroup("all", "c1", {STREAM: ">"}, count=10)
        await redis.xack(STREAM, "all", *[i for i, _ in read[0][1]])
        await trim_acknowledged(redis, STREAM, keep_seconds=3600)
        return int(await redis.xlen(STREAM))
    finally:
        await redis.aclose()


def test_acknowledged_entries_younger_than_the_retention_stay(db: psycopg.Connection[Any]) -> None:
    assert asyncio.run(_young_entries_are_kept()) == 1
