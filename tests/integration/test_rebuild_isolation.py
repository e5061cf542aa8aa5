"""How a rebuild's batch isolates the events a read model refuses, and what it never parks.

The real summary projection on the test Redis: an event it cannot read (no ``order`` snapshot)
among 64 costs that event and a few extra calls (the batch is split in halves around it, not
applied one event at a time); the other 63 are applied, the refused one is parked under
``summary``. A Redis that does not answer is an outage, not a bad event: the batch fails
and nothing is parked.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.isolation import IsolatingApplier
from orders_cqrs.readmodels.port import Outcome, Projection
from orders_cqrs.readmodels.summary.projection import SummaryProjection
from orders_cqrs.readmodels.summary.reader import SummaryReader
from orders_cqrs.relay.wire import StreamEvent
from tests.helpers.events import order_history
from tests.helpers.processes import free_port
from tests.helpers.stores import TEST_REDIS_URL

BATCH = 64


class Counted(Projection):
    """The real projection, counting the calls the applier makes."""

    def __init__(self, inner: Projection) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    async def apply(self, events: Sequence[StreamEvent]) -> list[Outcome]:
        self.calls += 1
        return await self.inner.apply(events)


@pytest.fixture
async def dead_letters(
    db: psycopg.Connection[Any], database_url: str
) -> AsyncIterator[DeadLetterRepository]:
    db.execute("DELETE FROM projection_dead_letters")  # `db` does not truncate this table
    engine = create_async_engine(database_url)
    yield DeadLetterRepository(engine)
    await engine.dispose()


def _batch_with_poison_at(index: int) -> tuple[list[StreamEvent], StreamEvent]:
    events = [order_history(uuid.uuid4(), 1)[0] for _ in range(BATCH)]
    events[index] = replace(events[index], payload={"facts": {}})  # no order snapshot
    return events, events[index]


async def test_one_unreadable_event_among_many_is_parked_and_the_rest_applied(
    dead_letters: DeadLetterRepository,
) -> None:
    redis = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await redis.flushdb()
        events, poison = _batch_with_poison_at(37)
        projection = Counted(SummaryProjection(redis))
        applier = IsolatingApplier(projection, dead_letters, max_attempts=2, retry_base_seconds=0)

        await applier.apply(events)

        assert applier.dead_lettered == 1
        letters = await dead_letters.list_for("summary")
        assert [letter.event_id for letter in letters] == [str(poison.event_id)]
        assert "KeyError" in letters[0].error and letters[0].attempts == 2
        reader = SummaryReader(redis, wait_budget_seconds=0)
        for event in events:
            read = await reader.order(str(event.aggregate_id))
            assert (read is None) == (event is poison), event.aggregate_id
        # 1 whole batch + 2 halves per level down to the poison (log2 64 = 6) + 1 retry.
        assert projection.calls == 1 + 2 * 6 + 1, projection.calls
    finally:
        await redis.aclose()


async def test_a_store_that_is_down_fails_the_batch_and_parks_nothing(
    dead_letters: DeadLetterRepository,
) -> None:
    nobody = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        events, _ = _batch_with_poison_at(5)
        applier = IsolatingApplier(
            SummaryProjection(nobody), dead_letters, max_attempts=2, retry_base_seconds=0
        )
        with pytest.raises(StoreUnavailable):
            await applier.apply(events)
        assert applier.dead_lettered == 0
        assert await dead_letters.list_for("summary") == []
    finally:
        await nobody.aclose()
