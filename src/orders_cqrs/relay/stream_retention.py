"""Stream retention: trim only what every consumer group has acknowledged."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


async def safe_trim_id(redis: Redis, stream: str) -> str | None:
    """The lowest id any group still needs (its oldest pending entry, else its next unread)."""
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:
        return None  # no stream yet
    if not groups:
        return None
    needed: list[str] = []
    for group in groups:
        pending = await redis.xpending(stream, group["name"])
        if pending["pending"]:
            needed.append(_as_str(pending["min"]))
        else:
            last = _as_str(group["last-delivered-id"])
            ms, seq = _id_key(last)
            needed.append(f"{ms}-{seq + 1}")
    return min(needed, key=_id_key)


async def trim_acknowledged(redis: Redis, stream: str, *, keep_seconds: float) -> int:
    """XTRIM MINID: drop entries every group acknowledged and older than ``keep_seconds``.

    Stream ids start with their millisecond timestamp, so "older than" is an id too.
    """
    min_id = await safe_trim_id(redis, stream)
    if min_id is None:
        return 0
    now_ms = int(time.time() * 1000)
    horizon = f"{max(0, now_ms - int(keep_seconds * 1000))}-0"
    trim_to = min(min_id, horizon, key=_id_key)
    return int(await redis.xtrim(stream, minid=trim_to, approximate=False))


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
