"""The projection contract (invariant 7) on the Redis order summary.

The summary's version guard and its write are one Lua script, atomic inside Redis; these
tests feed the real ``SummaryProjection`` on the test Redis database and read orders back
through the ``SummaryReader`` the API serves them with.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from redis.asyncio import Redis

from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.summary.projection import SummaryProjection
from orders_cqrs.readmodels.summary.reader import SummaryReader
from tests.helpers.projection_contract import ProjectionContract, Stored
from tests.helpers.stores import TEST_REDIS_URL


class TestSummaryProjection(ProjectionContract):
    """Redis: a duplicate is the same event id or version, an older version is stale."""

    redis: Redis

    @pytest.fixture(autouse=True)
    async def _redis(self, db: psycopg.Connection[Any]) -> AsyncIterator[None]:
        self.redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
        yield
        await self.redis.aclose()

    async def empty_projection(self) -> Projection:
        await self.redis.flushdb()
        return SummaryProjection(self.redis)

    async def stored(self, order_id: uuid.UUID) -> Stored | None:
        read = await SummaryReader(self.redis, wait_budget_seconds=0).order(str(order_id))
        if read is None:
            return None
        return Stored(
            version=read.freshness.source_version,
            status=read.order["status"],
            last_event_id=read.freshness.last_event_id,
            projected_at=read.freshness.projected_at,
            record={"order": read.order, "committed_at": read.freshness.committed_at},
        )
