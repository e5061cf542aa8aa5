"""The projection contract (invariant 7) on the OpenSearch support index.

The search projection writes with ``version_type=external`` (the aggregate version), so the
dedupe check and the write are one operation inside OpenSearch. Each projection here writes
into an index of its own made from the project's mappings and settings; its name is outside
``orders-support*`` so that no other suite's reset of the support indexes can delete it
mid-test. Orders are read back with a realtime GET, as ``verify`` does.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.readmodels.search.index import INDEX_TEMPLATE
from orders_cqrs.readmodels.search.projection import SearchProjection
from tests.helpers.projection_contract import ProjectionContract, Stored
from tests.helpers.search import ensure_opensearch_running
from tests.helpers.stores import OPENSEARCH_URL

WALL_CLOCK = "projected_at"


class TestSearchProjection(ProjectionContract):
    """OpenSearch: a duplicate and an older version are the same 409, counted as duplicates."""

    older = Outcome.DUPLICATE
    client: AsyncOpenSearch
    index: str | None

    @pytest.fixture(autouse=True)
    async def _opensearch(self) -> AsyncIterator[None]:
        ensure_opensearch_running()
        self.client = AsyncOpenSearch(hosts=[OPENSEARCH_URL], timeout=30, max_retries=0)
        self.index = None
        try:
            yield
        finally:
            await self._drop_index()
            await self.client.close()

    async def _drop_index(self) -> None:
        if self.index is not None:
            with contextlib.suppress(NotFoundError):
                await self.client.indices.delete(index=self.index)
            self.index = None

    async def empty_projection(self) -> Projection:
        await self._drop_index()
        self.index = f"contract-search-{uuid.uuid4().hex[:12]}"
        await self.client.indices.create(index=self.index, body=INDEX_TEMPLATE["template"])
        return SearchProjection(self.client, index=self.index)

    async def stored(self, order_id: uuid.UUID) -> Stored | None:
        assert self.index is not None
        try:
            found = await self.client.get(index=self.index, id=str(order_id))
        except NotFoundError:
            return None
        document = found["_source"]
        # External versioning: OpenSearch's own version of the document is the aggregate's.
        assert found["_version"] == document["source_version"], found
        return Stored(
            version=document["source_version"],
            status=document["status"],
            last_event_id=document["last_event_id"],
            projected_at=document[WALL_CLOCK],
            record={k: v for k, v in document.items() if k != WALL_CLOCK},
        )
