"""The consumer groups on the stream: which are live, which are left over, and removing those.

Stream retention keeps every entry some group has not acknowledged, so a group that nobody
reads any more (a rebuild whose process died, a projection that was retired) would hold the
stream's history forever. A group is *live* when it belongs to a projection this code has
(``bootstrap.STREAM_PROJECTIONS``) or to a rebuild that is running now (its lease is held,
``db/rebuilds.py``); every other group is *orphaned*: retention ignores it, ops see it in
``GET /v1/projections``, and orphaned rebuild groups are removed by the next rebuild of their
projection and by ``orders-cqrs cleanup``.

Order matters when deciding that a group is orphaned: read the stream's groups first, then
the running rebuilds. A rebuild records its group in PostgreSQL before it creates it, so a
group seen on the stream whose rebuild is running is always found running by the later read.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from orders_cqrs.readmodels.status import STATUS_KEY
from orders_cqrs.relay.stream_retention import LiveGroups

REBUILD_MARK = "-rebuild-"


def rebuild_group(projection: str, generation: str) -> str:
    """The consumer group a rebuild of ``projection`` into ``generation`` reads through."""
    return f"{projection}{REBUILD_MARK}{generation}"


def is_rebuild_group(group: str, projection: str | None = None) -> bool:
    """Whether ``group`` is a rebuild's (of ``projection``, when given)."""
    if projection is not None:
        return group.startswith(f"{projection}{REBUILD_MARK}")
    return REBUILD_MARK in group


async def stream_groups(redis: Redis, stream: str) -> list[dict[str, Any]]:
    """``XINFO GROUPS`` of the stream, names as text; empty when there is no stream yet."""
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:
        return []
    return [{**group, "name": _s(group["name"])} for group in groups]


async def orphaned_groups(
    redis: Redis, stream: str, live: LiveGroups, *, rebuilds_only: bool = False
) -> list[str]:
    """Groups on the stream that no live projection or running rebuild reads."""
    names = [group["name"] for group in await stream_groups(redis, stream)]
    alive = set(await live())  # after the stream's groups: see the module docstring
    return [
        name
        for name in names
        if name not in alive and (is_rebuild_group(name) or not rebuilds_only)
    ]


async def remove_groups(redis: Redis, stream: str, groups: Collection[str]) -> None:
    """Destroy ``groups`` and their status hashes (gone already is fine)."""
    for group in groups:
        await redis.xgroup_destroy(stream, group)
        await redis.delete(STATUS_KEY.format(group=group))


def _s(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
