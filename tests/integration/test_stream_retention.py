"""Stream retention never trims an entry some consumer group has not acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from redis.asyncio import Redis

from orders_cqrs.relay.stream_retention import trim_acknowledged
from tests.helpers.stores import TEST_REDIS_URL

STREAM = "retention.test"


def live(*groups: str) -> Callable[[], Awaitable[set[str]]]:
    """The registry of live groups, as the relay asks it."""

    async def names() -> set[str]:
        return set(groups)

    return names


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
        trimmed = await trim_acknowledged(redis, STREAM, keep_seconds=0, live=live("fast", "slow"))
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
        await trim_acknowledged(redis, STREAM, keep_seconds=3600, live=live("all"))
        return int(await redis.xlen(STREAM))
    finally:
        await redis.aclose()


def test_acknowledged_entries_younger_than_the_retention_stay(db: psycopg.Connection[Any]) -> None:
    assert asyncio.run(_young_entries_are_kept()) == 1


async def _dead_group_is_passed_over() -> tuple[int, list[str], list[str]]:
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await redis.xadd(STREAM, {"n": "0"})
        # A rebuild that died after creating its group: it will never read again.
        await redis.xgroup_create(STREAM, "summary-rebuild-v2", id="$")
        ids = [await redis.xadd(STREAM, {"n": str(n)}) for n in range(1, 6)]
        await redis.xgroup_create(STREAM, "summary", id="0")
        read = await redis.xreadgroup("summary", "c1", {STREAM: ">"}, count=100)
        await redis.xack(STREAM, "summary", *[i for i, _ in read[0][1]])
        trimmed = await trim_acknowledged(redis, STREAM, keep_seconds=0, live=live("summary"))
        left = [i for i, _ in await redis.xrange(STREAM)]
        return trimmed, ids, left
    finally:
        await redis.aclose()


def test_a_group_no_live_projection_reads_does_not_hold_the_stream(
    db: psycopg.Connection[Any],
) -> None:
    trimmed, ids, left = asyncio.run(_dead_group_is_passed_over())
    assert trimmed == 1 + len(ids)
    assert left == []


async def _nothing_is_trimmed_before_a_live_group_reads() -> int:
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await redis.xadd(STREAM, {"n": "1"})
        await redis.xgroup_create(STREAM, "retired", id="$")
        return await trim_acknowledged(redis, STREAM, keep_seconds=0, live=live("summary"))
    finally:
        await redis.aclose()


def test_only_dead_groups_on_the_stream_trim_nothing(db: psycopg.Connection[Any]) -> None:
    assert asyncio.run(_nothing_is_trimmed_before_a_live_group_reads()) == 0
