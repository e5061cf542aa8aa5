"""The blue/green generations of each rebuildable read model."""

from __future__ import annotations

import asyncio

from opensearchpy import AsyncOpenSearch
from redis.asyncio import Redis

from orders_cqrs.projections.port import Projection
from orders_cqrs.projections.rebuild import BlueGreenTarget
from orders_cqrs.projections.search_index import SETTINGS, IndexNames
from orders_cqrs.projections.search_opensearch import SearchProjection, ensure_index
from orders_cqrs.projections.summary_keys import ACTIVE_KEY, DEFAULT_NAMESPACE, namespace_pattern
from orders_cqrs.projections.summary_redis import SummaryProjection

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


class SearchIndexes(BlueGreenTarget):
    """Search generations are versioned indexes behind the alias (``orders-support``).

    Mapping changes ship this way: the new index takes the current template.
    """

    name = "search"

    def __init__(
        self,
        client: AsyncOpenSearch,
        *,
        names: IndexNames | None = None,
        grace_seconds: float = 2.0,
    ) -> None:
        self.client = client
        self.names = names or IndexNames()
        self.grace_seconds = grace_seconds

    async def current(self) -> str:
        await ensure_index(self.client, self.names)
        aliases = await self.client.indices.get_alias(name=self.names.alias)
        return str(sorted(aliases)[-1])

    async def prepare(self, generation: str) -> Projection:
        await self.client.indices.delete(index=generation, ignore=404)
        # No periodic refresh while the new index fills (nobody searches it yet): segments
        # are not rebuilt every second under the bulk load. ``switch`` refreshes it once and
        # restores the template's interval before readers see it.
        await self.client.indices.create(
            index=generation, body={"settings": {"index": {"refresh_interval": "-1"}}}
        )
        return SearchProjection(self.client, index=generation)

    async def switch(self, old: str, new: str) -> None:
        await self.client.indices.put_settings(
            index=new, body={"index": {"refresh_interval": SETTINGS["refresh_interval"]}}
        )
        await self.client.indices.refresh(index=new)
        await self.client.indices.update_aliases(
            body={
                "actions": [
                    {"remove": {"index": old, "alias": self.names.alias}},
                    {"add": {"index": new, "alias": self.names.alias}},
                ]
            }
        )

    async def drop(self, generation: str) -> None:
        # A grace period lets searches that resolved the alias just before the swap finish.
        await asyncio.sleep(self.grace_seconds)
        await self.client.indices.delete(index=generation, ignore=404)
