"""An order's history as the stream carries it: events of the real aggregate, through JSON.

The read-model suites feed projections these events directly, without the write side, so a
test controls exactly which versions arrive, how often and in which order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import Address, Customer, OrderLine
from orders_cqrs.relay.wire import StreamEvent

PLACED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
STEP = timedelta(minutes=7)  # between two versions of an order
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
# The status after each version of ``order_history``: 1 placed, 2 note, 3 authorized,
# 4 captured, 5 shipped, 6 note, 7 delivered, 8 partial refund, 9 note.
STATUSES = (
    "PENDING_PAYMENT",
    "PENDING_PAYMENT",
    "AUTHORIZED",
    "CAPTURED",
    "SHIPPED",
    "SHIPPED",
    "DELIVERED",
    "DELIVERED",
    "DELIVERED",
)


def order_history(order_id: uuid.UUID, versions: int) -> list[StreamEvent]:
    """Events 1..versions (at most ``MAX_VERSIONS``) of one order, every kind of step."""
    clock = iter(PLACED + STEP * n for n in range(MAX_VERSIONS))
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
            occurred_at=PLACED + STEP * (event.aggregate_version - 1),
            headers={},
            # Through JSON, as the relay publishes it.
            payload=json.loads(json.dumps(event.to_payload())),
            stream_id=f"{1_700_000_000_000 + event.aggregate_version}-0",
        )
        for event in order.events
    ]
