"""Invariant 7: duplicate and out-of-order delivery leave the summary at the newest version."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import redis as sync_redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from orders_cqrs.readmodels.port import Outcome
from orders_cqrs.readmodels.summary.projection import SummaryProjection
from orders_cqrs.readmodels.summary.reader import SummaryReader
from orders_cqrs.relay.wire import StreamEvent
from tests.helpers.stores import TEST_REDIS_URL

CUSTOMER = str(uuid.UUID(int=7))
PLACED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _history(order_id: uuid.UUID, versions: int) -> list[StreamEvent]:
    """Events 1..versions of one order, each carrying its full snapshot."""
    events = []
    for version in range(1, versions + 1):
        snapshot: dict[str, Any] = {
            "order_id": str(order_id),
            "version": version,
            "status": f"STATE-{version}",
            "customer": {"id": CUSTOMER},
            "placed_at": PLACED.isoformat(),
            "notes": [f"note {n}" for n in range(version)],
        }
        events.append(
            StreamEvent(
                event_id=uuid.uuid5(order_id, str(version)),
                position=version,
                aggregate_id=order_id,
                aggregate_version=version,
                event_type="Test",
                schema_version=1,
                occurred_at=PLACED + timedelta(seconds=version),
                headers={},
                payload={"order": snapshot, "facts": {}},
                stream_id=f"{version}-0",
            )
        )
    return events


async def _project(
    deliveries: list[list[StreamEvent]],
) -> tuple[dict[str, Any] | None, list[Outcome]]:
    client = Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        await client.flushdb()
        projection = SummaryProjection(client)
        outcomes: list[Outcome] = []
        for batch in deliveries:
            outcomes += await projection.apply(batch)
        order_id = str(deliveries[0][0].aggregate_id) if deliveries and deliveries[0] else ""
        read = await SummaryReader(client, wait_budget_seconds=0).order(order_id)
        state = (
            None
            if read is None
            else {
                "doc": read.order,
                "version": read.freshness.source_version,
                "event": read.freshness.last_event_id,
            }
        )
        return state, outcomes
    finally:
        await client.aclose()


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[StreamEvent], list[list[StreamEvent]]]:
    """An order's history, then a delivery of it with duplicates, shuffled, in random batches."""
    history = _history(uuid.UUID(int=draw(st.integers(1, 2**32))), draw(st.integers(1, 8)))
    extra = draw(st.lists(st.sampled_from(history), max_size=10))
    shuffled = draw(st.permutations(history + extra))
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    batches, start = [], 0
    for cut in [*cuts, len(shuffled)]:
        if cut > start:
            batches.append(shuffled[start:cut])
            start = cut
    return history, batches


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=deliveries())
def test_any_delivery_order_with_duplicates_ends_in_the_in_order_state(
    db: psycopg.Connection[Any], case: tuple[list[StreamEvent], list[list[StreamEvent]]]
) -> None:
    history, batches = case
    in_order, _ = asyncio.run(_project([history]))
    shuffled, outcomes = asyncio.run(_project(batches))
    assert shuffled == in_order
    assert shuffled is not None and shuffled["version"] == len(history)
    assert shuffled["event"] == str(history[-1].event_id)
    delivered = sum(len(b) for b in batches)
    assert outcomes.count(Outcome.APPLIED) <= len(history)
    assert len(outcomes) == delivered


def test_a_duplicate_is_a_no_op_and_an_older_version_never_overwrites(
    db: psycopg.Connection[Any],
) -> None:
    history = _history(uuid.uuid4(), 3)
    state, outcomes = asyncio.run(
        _project([[history[2]], [history[2]], [history[0]], [history[1]]])
    )
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.STALE, Outcome.STALE]
    assert state is not None and state["version"] == 3 and state["doc"]["status"] == "STATE-3"
    raw = sync_redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    stored = raw.hget(f"summary:v1:order:{history[0].aggregate_id}", "doc")
    assert json.loads(str(stored))["notes"] == ["note 0", "note 1", "note 2"]
