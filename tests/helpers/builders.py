"""Orders in every status, built only through the aggregate's public methods, on a fixed clock."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import Address, Customer, OrderLine, OrderStatus

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
CURRENCY = "EUR"
OTHER_CURRENCY = "USD"
REFUND_WINDOW = timedelta(days=30)

ORDER_ID = UUID("00000000-0000-4000-8000-000000000001")
CUSTOMER = Customer(
    id=UUID("00000000-0000-4000-8000-0000000000c1"),
    email="ada@example.com",
    name="Ada Lovelace",
    country="DE",
)
SHIPPING = Address(
    country="DE", region="Berlin", city="Berlin", postal_code="10115", line1="Invalidenstr. 1"
)
MUG = OrderLine(sku="SKU-MUG-01", name="Mug", quantity=2, unit_price=1250)
TEE = OrderLine(sku="SKU-TEE-02", name="T-shirt", quantity=1, unit_price=1999)
LINES: tuple[OrderLine, ...] = (MUG, TEE)
TOTAL = 2 * 1250 + 1999  # 4499, written out rather than computed by the code under test

Step = Callable[[Order], object]


def place(
    lines: tuple[OrderLine, ...] = LINES,
    *,
    risk_flags: tuple[str, ...] = (),
    customer: Customer = CUSTOMER,
    now: datetime = NOW,
) -> Order:
    """A freshly placed order (PENDING_PAYMENT, version 1)."""
    return Order.place(
        order_id=ORDER_ID,
        customer=customer,
        lines=lines,
        shipping=SHIPPING,
        currency=CURRENCY,
        provider="sandbox-card",
        risk_flags=risk_flags,
        now=now,
    )


def authorize(order: Order) -> None:
    order.authorize(authorization_ref="auth-1", now=NOW)


def decline(order: Order) -> None:
    order.decline(reason="insufficient funds", now=NOW)


def capture(order: Order) -> None:
    order.capture(amount=None, now=NOW)


def cancel(order: Order) -> None:
    order.cancel(reason="changed my mind", now=NOW)


def ship(order: Order) -> None:
    order.ship(carrier="DHL", tracking_number="TRACK-1", now=NOW)


def deliver(order: Order) -> None:
    order.deliver(now=NOW)


def refund_all(order: Order) -> None:
    order.refund(
        refund_id=UUID("00000000-0000-4000-8000-0000000000f0"),
        amount=order.payment.captured - order.payment.refunded,
        reason="full refund",
        window=REFUND_WINDOW,
        now=NOW,
    )


# The walk from placement to each status, one public command at a time.
PATHS: dict[OrderStatus, tuple[Step, ...]] = {
    OrderStatus.PENDING_PAYMENT: (),
    OrderStatus.AUTHORIZED: (authorize,),
    OrderStatus.PAYMENT_DECLINED: (decline,),
    OrderStatus.CAPTURED: (authorize, capture),
    OrderStatus.SHIPPED: (authorize, capture, ship),
    OrderStatus.DELIVERED: (authorize, capture, ship, deliver),
    OrderStatus.CANCELLED: (authorize, cancel),
    OrderStatus.REFUNDED: (authorize, capture, refund_all),
}


def order_in(status: OrderStatus, lines: tuple[OrderLine, ...] = LINES) -> Order:
    """An order walked through the public methods until it is in ``status``."""
    order = place(lines)
    for step in PATHS[status]:
        step(order)
    assert order.status is status, f"the walk to {status} ended in {order.status}"
    assert order.version == 1 + len(PATHS[status])
    return order


@dataclass(frozen=True)
class Frozen:
    """What an order looked like before a refused command: state and event log."""

    state: Order
    event_ids: tuple[UUID, ...]
    snapshot: dict[str, Any]


def freeze(order: Order) -> Frozen:
    """Remember the order so a refused command can be shown to have changed nothing."""
    return Frozen(
        state=copy.deepcopy(order),
        event_ids=tuple(event.event_id for event in order.events),
        snapshot=order.snapshot(),
    )


def assert_unchanged(order: Order, before: Frozen) -> None:
    """The order's state, version, status and event log are exactly as they were."""
    assert order.version == before.state.version
    assert order.status is before.state.status
    assert order == before.state  # every field except the event list
    assert tuple(event.event_id for event in order.events) == before.event_ids
    assert order.snapshot() == before.snapshot
