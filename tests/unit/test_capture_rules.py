"""Capture: never beyond the authorized amount, positive, in the order's currency; sells the stock once."""

from __future__ import annotations

import pytest

from orders_cqrs.domain.errors import CaptureRuleViolation, IllegalTransition
from orders_cqrs.domain.events import EventType
from orders_cqrs.domain.values import OrderStatus, PaymentState, StockState
from tests.helpers.builders import (
    CURRENCY,
    LATER,
    LINES,
    OTHER_CURRENCY,
    TOTAL,
    assert_unchanged,
    freeze,
    order_in,
)


def test_capture_without_an_amount_takes_everything_authorized() -> None:
    order = order_in(OrderStatus.AUTHORIZED)
    assert order.payment.authorized == TOTAL

    order.capture(amount=None, now=LATER)

    assert order.payment.captured == TOTAL
    assert order.events[-1].facts == {"amount": TOTAL}


@pytest.mark.parametrize(
    "amount",
    [1, 2000, TOTAL - 1, TOTAL],
    ids=["one-cent", "part", "all-but-one-cent", "everything"],
)
def test_capture_up_to_the_authorized_amount_is_accepted(amount: int) -> None:
    order = order_in(OrderStatus.AUTHORIZED)

    order.capture(amount=amount, now=LATER)

    assert order.status is OrderStatus.CAPTURED
    assert order.payment.state is PaymentState.CAPTURED
    assert order.payment.captured == amount
    assert order.payment.authorized == TOTAL
    assert order.captured_at == LATER
    assert order.events[-1].type is EventType.PAYMENT_CAPTURED
    assert order.events[-1].facts == {"amount": amount}
    assert order.snapshot()["payment"]["captured"] == amount


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        pytest.param(TOTAL + 1, None, id="one-cent-above-authorized"),
        pytest.param(10 * TOTAL, None, id="far-above-authorized"),
        pytest.param(0, None, id="zero"),
        pytest.param(-1, None, id="negative"),
        pytest.param(TOTAL, OTHER_CURRENCY, id="another-currency"),
        pytest.param(None, OTHER_CURRENCY, id="everything-in-another-currency"),
    ],
)
def test_a_capture_breaking_a_rule_is_refused_and_changes_nothing(
    amount: int | None, currency: str | None
) -> None:
    order = order_in(OrderStatus.AUTHORIZED)
    before = freeze(order)

    with pytest.raises(CaptureRuleViolation):
        order.capture(amount=amount, now=LATER, currency=currency)

    assert_unchanged(order, before)
    assert order.stock is StockState.RESERVED
    assert order.captured_at is None


def test_capture_in_the_orders_own_currency_is_accepted() -> None:
    order = order_in(OrderStatus.AUTHORIZED)

    order.capture(amount=1000, now=LATER, currency=CURRENCY)

    assert order.payment.captured == 1000


def test_capture_sells_the_reserved_lines_exactly_once() -> None:
    order = order_in(OrderStatus.AUTHORIZED)
    assert order.snapshot()["stock"] == "reserved"

    sold = order.capture(amount=None, now=LATER)

    assert sold == LINES
    assert order.stock is StockState.SOLD
    assert order.snapshot()["stock"] == "sold"
    before = freeze(order)
    with pytest.raises(IllegalTransition):
        order.capture(amount=None, now=LATER)
    assert_unchanged(order, before)


def test_a_partial_capture_still_sells_every_line() -> None:
    order = order_in(OrderStatus.AUTHORIZED)

    sold = order.capture(amount=1, now=LATER)

    assert sold == LINES
    assert order.stock is StockState.SOLD
