"""Stream retention: trim only what every live consumer group has acknowledged.

Only live groups count (a projection this code has, or a rebuild running now; see
``readmodels/stream_groups.py``). A group nobody reads any more (a rebuild whose process was
killed, a retired projection) would otherwise hold every entry after its position forever;
it is logged each time it is passed over, and ``GET /v1/projections`` lists it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

log = structlog.get_logger(__name__)

LiveGroups = Callable[[], Awaitable[Collection[str]]]
"""The names of the live groups now. Asked *after* the stream's groups were read: a rebuild
records its group as running before it creates it, so a running rebuild's group is never
mistaken for a dead one."""


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


async def safe_trim_id(redis: Redis, stream: str, live: LiveGroups) -> str | None:
    """The lowest id a live group still needs (its oldest pending entry, else its next unread)."""
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:
        return None  # no stream yet
    alive = set(await live())
    needed: list[str] = []
    for group in groups:
        name = _as_str(group["name"])
        if name not in alive:
            log.warning("stream_retention_ignores_group", stream=stream, group=name)
            continue
        pending = await redis.xpending(stream, name)
        if pending["pending"]:
            needed.append(_as_str(pending["min"]))
        else:
            last = _as_str(group["last-delivered-id"])
            ms, seq = _id_key(last)
            needed.append(f"{ms}-{seq + 1}")
    if not needed:
        return None  # no live group has read yet: nothing is known to be consumed
    return min(needed, key=_id_key)


async def trim_acknowledged(
    redis: Redis, stream: str, *, keep_seconds: float, live: LiveGroups
) -> int:
    """XTRIM MINID: drop entries every live group acknowledged, older than ``keep_seconds``.

    Stream ids start with their millisecond timestamp, so "older than" is an id too.
    """
    min_id = await safe_trim_id(redis, stream, live)
    if min_id is None:
        return 0
    now_ms = int(time.time() * 1000)
    horizon = f"{max(0, now_ms - int(keep_seconds * 1000))}-0"
    trim_to = min(min_id, horizon, key=_id_key)
    return int(await redis.xtrim(stream, minid=trim_to, approximate=False))


def _as_str(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
