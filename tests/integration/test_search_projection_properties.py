"""Invariant 7 for the support index: duplicate and out-of-order delivery end in the newest version.

The search projection writes with ``version_type=external`` (the aggregate version), so the
dedupe check and the write are one operation inside OpenSearch. These tests feed the real
``SearchProjection`` the history of one order — full snapshots produced by the real domain
aggregate — delivered with duplicates, shuffled and cut into random bulk batches, into indexes
created from the project's template, and compare the stored document with an in-order delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import Address, Customer, OrderLine
from orders_cqrs.readmodels.port import Outcome
from orders_cqrs.readmodels.search.index import INDEX_PREFIX, INDEX_TEMPLATE, TEMPLATE
from orders_cqrs.readmodels.search.projection import SearchProjection
from orders_cqrs.relay.wire import StreamEvent
from tests.helpers.search import opensearch_client, reset_search_state
from tests.helpers.stores import OPENSEARCH_URL

PLACED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
MAX_VERSIONS = 9
CUSTOMER = Customer(
    id=uuid.UUID("00000000-0000-4000-8000-00000000c0de"),
    email="grace.hopper@example.com",
    name="Grace Hopper",
    country="DE",
)
SHIPPING = Address(
    country="DE", region="Bavaria", city="Munich", postal_code="80331", line1="Marienplatz 1"
)
LINES = (
    OrderLine(sku="SKU-KETTLE-01", name="Gooseneck kettle", quantity=1, unit_price=4900),
    OrderLine(sku="SKU-TOWEL-03", name="Linen tea towel", quantity=2, unit_price=1200),
)


@dataclass(frozen=True)
class SupportIndexes:
    """Two fresh indexes made by the project's template: one per delivery being compared."""

    in_order: str
    shuffled: str


@pytest.fixture
def fresh_search_state() -> None:
    """Delete the support indexes and their template before the test (OpenSearch is shared)."""
    reset_search_state()


@pytest.fixture
def indexes(fresh_search_state: None) -> Iterator[SupportIndexes]:
    """Install the template and create two generations from it; both are deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    created = SupportIndexes(f"{INDEX_PREFIX}prop-{suffix}-a", f"{INDEX_PREFIX}prop-{suffix}-b")
    client = opensearch_client()
    try:
        client.indices.put_index_template(name=TEMPLATE, body=INDEX_TEMPLATE)
        for name in (created.in_order, created.shuffled):
            client.indices.create(index=name)
            mapping = client.indices.get_mapping(index=name)[name]["mappings"]
            assert mapping["dynamic"] == "strict", "the index did not take the template"
        yield created
    finally:
        for name in (created.in_order, created.shuffled):
            with contextlib.suppress(NotFoundError):
                client.indices.delete(index=name)
        client.close()


def history(order_id: uuid.UUID, versions: int) -> list[StreamEvent]:
    """Events 1..versions of one order, from the real aggregate, as the stream carries them."""
    clock = iter(PLACED + timedelta(minutes=7 * n) for n in range(100))
    order = Order.place(
        order_id=order_id,
        customer=CUSTOMER,
        lines=LINES,
        shipping=SHIPPING,
        currency="EUR",
        provider="sandbox-card",
        risk_flags=("large_amount",),
        now=next(clock),
    )
    steps: list[Callable[[], object]] = [
        lambda: order.add_note(
            note_id=uuid.uuid5(order_id, "n1"),
            author="support",
            body="called, kettle leaks",
            now=next(clock),
        ),
        lambda: order.authorize(authorization_ref="auth_1", now=next(clock)),
        lambda: order.capture(amount=None, now=next(clock)),
        lambda: order.ship(carrier="DHL", tracking_number="JJD0001234", now=next(clock)),
        lambda: order.add_note(
            note_id=uuid.uuid5(order_id, "n2"),
            author="support",
            body="tracking sent",
            now=next(clock),
        ),
        lambda: order.deliver(now=next(clock)),
        lambda: order.refund(
            refund_id=uuid.uuid5(order_id, "r1"),
            amount=1200,
            reason="towel damaged",
            window=timedelta(days=30),
            now=next(clock),
        ),
        lambda: order.add_note(
            note_id=uuid.uuid5(order_id, "n3"),
            author="support",
            body="refund issued",
            now=next(clock),
        ),
    ]
    for step in steps[: versions - 1]:
        step()
    assert order.version == versions
    return [
        StreamEvent(
            event_id=event.event_id,
            position=event.aggregate_version,
            aggregate_id=order_id,
            aggregate_version=event.aggregate_version,
            event_type=str(event.type),
            schema_version=event.schema_version,
            occurred_at=PLACED + timedelta(minutes=7 * (event.aggregate_version - 1)),
            headers={},
            # Through JSON, as the relay publishes it.
            payload=json.loads(json.dumps(event.to_payload())),
            stream_id=f"{1_700_000_000_000 + event.aggregate_version}-0",
        )
        for event in order.events
    ]


async def project(
    index: str, order_id: uuid.UUID, deliveries: list[list[StreamEvent]]
) -> tuple[dict[str, Any], int, list[Outcome]]:
    """Apply the batches in order; the stored document, its OpenSearch version, the outcomes."""
    client = AsyncOpenSearch(hosts=[OPENSEARCH_URL], timeout=30, max_retries=0)
    try:
        projection = SearchProjection(client, index=index)
        outcomes: list[Outcome] = []
        for batch in deliveries:
            outcomes += await projection.apply(batch)
        stored = await client.get(index=index, id=str(order_id))
        return stored["_source"], int(stored["_version"]), outcomes
    finally:
        await client.close()


def without_projected_at(document: dict[str, Any]) -> dict[str, Any]:
    """The document minus the wall-clock stamp of the write."""
    return {k: v for k, v in document.items() if k != "projected_at"}


@dataclass(frozen=True)
class Delivery:
    """How a history of ``versions`` events is delivered: indexes into it, cut into batches."""

    versions: int
    batches: list[list[int]]


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """Every version at least once, some more than once, shuffled, in random batches."""
    versions = draw(st.integers(1, MAX_VERSIONS))
    extra = draw(st.lists(st.integers(0, versions - 1), max_size=12))
    shuffled = draw(st.permutations(list(range(versions)) + extra))
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches, start = [], 0
    for cut in [*cuts, len(shuffled)]:
        if cut > start:
            batches.append(shuffled[start:cut])
            start = cut
    return Delivery(versions, batches)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=deliveries())
def test_any_delivery_order_with_duplicates_ends_in_the_in_order_document(
    indexes: SupportIndexes, case: Delivery
) -> None:
    order_id = uuid.uuid4()  # fresh per example: the indexes outlive the examples
    events = history(order_id, case.versions)
    batches = [[events[i] for i in batch] for batch in case.batches]

    in_order, in_order_version, _ = asyncio.run(project(indexes.in_order, order_id, [events]))
    shuffled, shuffled_version, outcomes = asyncio.run(project(indexes.shuffled, order_id, batches))

    assert without_projected_at(shuffled) == without_projected_at(in_order)
    assert shuffled["source_version"] == case.versions == shuffled_version == in_order_version
    assert shuffled["last_event_id"] == str(events[-1].event_id)
    # Exactly the events newer than everything delivered before them were applied.
    delivered = [event for batch in batches for event in batch]
    assert len(outcomes) == len(delivered)
    newest = 0
    for event, outcome in zip(delivered, outcomes, strict=True):
        if event.aggregate_version > newest:
            assert outcome is Outcome.APPLIED, (event.aggregate_version, newest, outcomes)
            newest = event.aggregate_version
        else:
            assert outcome in (Outcome.DUPLICATE, Outcome.STALE), (event.aggregate_version, outcome)


def test_a_duplicate_is_a_no_op_and_an_older_version_never_overwrites(
    indexes: SupportIndexes,
) -> None:
    order_id = uuid.uuid4()
    v1, v2, v3, *_ = history(order_id, 4)
    document, version, outcomes = asyncio.run(
        project(indexes.shuffled, order_id, [[v3], [v3], [v1], [v2]])
    )
    assert outcomes[:2] == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert all(o in (Outcome.DUPLICATE, Outcome.STALE) for o in outcomes[2:]), outcomes
    assert version == 3 and document["source_version"] == 3
    assert document["last_event_id"] == str(v3.event_id)
    assert document["status"] == "AUTHORIZED" and document["payment_state"] == "authorized"
    assert document["notes"] == ["called, kettle leaks"]

    # The same inside one bulk request: the older and the repeated items are refused.
    other = uuid.uuid4()
    w1, w2, w3, w4 = history(other, 4)
    document, version, outcomes = asyncio.run(
        project(indexes.shuffled, other, [[w1, w3, w2, w3, w1], [w4, w4, w2]])
    )
    assert outcomes[0] == outcomes[1] == outcomes[5] == Outcome.APPLIED
    assert outcomes[3] == outcomes[6] == Outcome.DUPLICATE
    assert {outcomes[2], outcomes[4], outcomes[7]} <= {Outcome.DUPLICATE, Outcome.STALE}
    assert version == 4 and document["source_version"] == 4
    assert document["last_event_id"] == str(w4.event_id) and document["status"] == "CAPTURED"
