"""Refunds: only after capture, within the window, in the order's currency, never above what is left."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from orders_cqrs.domain.errors import RefundRuleViolation
from orders_cqrs.domain.events import EventType
from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import OrderStatus, PaymentState
from tests.helpers.builders import (
    CURRENCY,
    NOW,
    OTHER_CURRENCY,
    REFUND_WINDOW,
    TOTAL,
    assert_unchanged,
    authorize,
    freeze,
    order_in,
    place,
)

CAPTURED_AT = NOW  # the builders capture on the fixed clock
SOON = NOW + timedelta(days=1)
REFUNDABLE_STATUSES = [OrderStatus.CAPTURED, OrderStatus.SHIPPED, OrderStatus.DELIVERED]


def refund(order: Order, amount: int, *, now: datetime = SOON, currency: str | None = None) -> None:
    order.refund(
        refund_id=uuid4(),
        amount=amount,
        reason="customer request",
        window=REFUND_WINDOW,
        now=now,
        currency=currency,
    )


def refuse(order: Order, amount: int, *, now: datetime = SOON, currency: str | None = None) -> str:
    """Refund, expect the refusal, prove nothing changed; returns the problem detail."""
    before = freeze(order)
    with pytest.raises(RefundRuleViolation) as refused:
        refund(order, amount, now=now, currency=currency)
    assert_unchanged(order, before)
    return refused.value.detail


@pytest.mark.parametrize("status", REFUNDABLE_STATUSES, ids=lambda s: s.value)
def test_a_partial_refund_keeps_the_status_and_marks_the_payment_partially_refunded(
    status: OrderStatus,
) -> None:
    order = order_in(status)

    refund(order, 1000)

    assert order.status is status
    assert order.payment.state is PaymentState.PARTIALLY_REFUNDED
    assert order.payment.refunded == 1000
    assert order.refundable == TOTAL - 1000
    assert [r.amount for r in order.refunds] == [1000]
    assert order.events[-1].type is EventType.REFUND_ISSUED
    assert order.events[-1].facts["full"] is False
    assert order.snapshot()["payment"]["state"] == "partially_refunded"


@pytest.mark.parametrize(
    "amounts",
    [
        pytest.param((TOTAL,), id="one-full-refund"),
        pytest.param((1000, TOTAL - 1000), id="two-parts"),
        pytest.param((1, 1, TOTAL - 2), id="three-parts"),
    ],
)
def test_refunds_summing_to_the_captured_amount_refund_the_order(amounts: tuple[int, ...]) -> None:
    order = order_in(OrderStatus.CAPTURED)

    for amount in amounts:
        refund(order, amount)

    assert order.status is OrderStatus.REFUNDED
    assert order.payment.state is PaymentState.REFUNDED
    assert order.payment.refunded == TOTAL
    assert order.refundable == 0
    fulls = [e.facts["full"] for e in order.events if e.type is EventType.REFUND_ISSUED]
    assert fulls == [False] * (len(amounts) - 1) + [True]


@pytest.mark.parametrize(
    ("already_refunded", "status"),
    [
        pytest.param(0, OrderStatus.CAPTURED, id="nothing-refunded-yet"),
        pytest.param(1000, OrderStatus.CAPTURED, id="after-a-partial-refund"),
        pytest.param(TOTAL - 1, OrderStatus.DELIVERED, id="one-cent-left"),
    ],
)
def test_refunding_one_more_than_is_left_is_refused(
    already_refunded: int, status: OrderStatus
) -> None:
    order = order_in(status)
    if already_refunded:
        refund(order, already_refunded)
    left = order.payment.captured - order.payment.refunded
    assert left == TOTAL - already_refunded

    detail = refuse(order, left + 1)

    assert str(left) in detail
    refund(order, left)  # exactly what is left is still fine
    assert order.status is OrderStatus.REFUNDED


@pytest.mark.parametrize("amount", [0, -1, -TOTAL], ids=["zero", "minus-one", "minus-total"])
def test_a_refund_must_be_positive(amount: int) -> None:
    order = order_in(OrderStatus.CAPTURED)

    refuse(order, amount)


@pytest.mark.parametrize(
    "status",
    [OrderStatus.PENDING_PAYMENT, OrderStatus.AUTHORIZED],
    ids=lambda s: s.value,
)
def test_nothing_can_be_refunded_before_capture(status: OrderStatus) -> None:
    order = order_in(status)

    detail = refuse(order, 1)

    assert status.value in detail


@pytest.mark.parametrize(
    ("refund_at", "accepted"),
    [
        pytest.param(CAPTURED_AT, True, id="right-after-capture"),
        pytest.param(CAPTURED_AT + REFUND_WINDOW - timedelta(seconds=1), True, id="a-second-early"),
        pytest.param(CAPTURED_AT + REFUND_WINDOW, True, id="exactly-at-the-edge"),
        pytest.param(
            CAPTURED_AT + REFUND_WINDOW + timedelta(microseconds=1), False, id="a-microsecond-late"
        ),
        pytest.param(CAPTURED_AT + REFUND_WINDOW + timedelta(days=1), False, id="a-day-late"),
    ],
)
def test_refunds_are_accepted_only_within_the_window(refund_at: datetime, accepted: bool) -> None:
    order = order_in(OrderStatus.DELIVERED)
    assert order.captured_at == CAPTURED_AT

    if accepted:
        refund(order, 500, now=refund_at)
        assert order.payment.refunded == 500
        assert order.refunds[-1].created_at == refund_at
    else:
        detail = refuse(order, 500, now=refund_at)
        assert "window" in detail


@pytest.mark.parametrize(
    ("currency", "accepted"),
    [
        pytest.param(None, True, id="unspecified"),
        pytest.param(CURRENCY, True, id="the-orders-currency"),
        pytest.param(OTHER_CURRENCY, False, id="another-currency"),
        pytest.param(CURRENCY.lower(), False, id="lower-case-code"),
    ],
)
def test_a_refund_is_in_the_orders_currency(currency: str | None, accepted: bool) -> None:
    order = order_in(OrderStatus.CAPTURED)

    if accepted:
        refund(order, 700, currency=currency)
        assert order.payment.refunded == 700
    else:
        detail = refuse(order, 700, currency=currency)
        assert CURRENCY in detail


def test_a_refund_after_a_partial_capture_is_limited_by_the_captured_amount() -> None:
    order = place()
    authorize(order)
    order.capture(amount=2000, now=NOW)
    assert (order.payment.authorized, order.payment.captured) == (TOTAL, 2000)

    refuse(order, 2001)
    refuse(order, TOTAL)
    refund(order, 1500)
    refuse(order, 501)
    refund(order, 500)

    assert order.status is OrderStatus.REFUNDED
    assert order.payment.state is PaymentState.REFUNDED
    assert order.payment.refunded == 2000


def test_each_refund_is_recorded_with_its_id_amount_reason_and_time() -> None:
    order = order_in(OrderStatus.SHIPPED)
    refund_id = UUID("00000000-0000-4000-8000-0000000000d1")

    order.refund(refund_id=refund_id, amount=321, reason="late", window=REFUND_WINDOW, now=SOON)

    (recorded,) = order.refunds
    assert (recorded.id, recorded.amount, recorded.reason, recorded.created_at) == (
        refund_id,
        321,
        "late",
        SOON,
    )
    assert order.snapshot()["refunds"] == [
        {"id": str(refund_id), "amount": 321, "reason": "late", "created_at": SOON.isoformat()}
    ]
