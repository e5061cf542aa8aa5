"""Search generations: versioned indexes behind the support alias."""

from __future__ import annotations

import asyncio

from opensearchpy import AsyncOpenSearch

from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget
from orders_cqrs.readmodels.search.index import SETTINGS, IndexNames
from orders_cqrs.readmodels.search.projection import SearchProjection, ensure_index


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
