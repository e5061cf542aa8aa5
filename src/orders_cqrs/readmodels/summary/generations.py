"""Summary generations: key namespaces, ``summary:active`` naming the live one."""

from __future__ import annotations

from redis.asyncio import Redis

from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget
from orders_cqrs.readmodels.summary.keys import ACTIVE_KEY, DEFAULT_NAMESPACE, namespace_pattern
from orders_cqrs.readmodels.summary.projection import SummaryProjection

DROP_PAGE = 5000


class SummaryNamespaces(BlueGreenTarget):
    """Summary generations are key namespaces; ``summary:active`` names the live one."""

    name = "summary"

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def current(self) -> str:
        return str(await self.redis.get(ACTIVE_KEY) or DEFAULT_NAMESPACE)

    async def prepare(self, generation: str) -> Projection:
        await self.drop(generation)  # leftovers of an interrupted rebuild
        return SummaryProjection(self.redis, namespace=generation)

    async def switch(self, old: str, new: str) -> None:
        await self.redis.set(ACTIVE_KEY, new)

    async def drop(self, generation: str) -> None:
        # SCAN pages, each page's keys UNLINKed in one command: Redis frees the memory in a
        # background thread, and the round trips are per page of keys, not per key. Nobody
        # reads the generation any more (the switch happened first), so order does not matter.
        cursor: int | str = 0
        while True:
            cursor, keys = await self.redis.scan(
                cursor=int(cursor), match=namespace_pattern(generation), count=DROP_PAGE
            )
            if keys:
                await self.redis.unlink(*keys)
            if int(cursor) == 0:
                return
