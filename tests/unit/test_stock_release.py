"""Cancel and decline give the reserved stock back, exactly once; cancel starts the void of an
authorization, which the provider's confirmation completes."""

from __future__ import annotations

import pytest

from orders_cqrs.domain.errors import IllegalTransition
from orders_cqrs.domain.events import EventType
from orders_cqrs.domain.values import OrderStatus, PaymentState, StockState
from tests.helpers.builders import LATER, LINES, assert_unchanged, freeze, order_in


@pytest.mark.parametrize(
    ("status", "payment_after"),
    [
        pytest.param(OrderStatus.PENDING_PAYMENT, PaymentState.PENDING, id="PENDING_PAYMENT"),
        pytest.param(OrderStatus.AUTHORIZED, PaymentState.VOID_PENDING, id="AUTHORIZED"),
    ],
)
def test_cancel_before_capture_releases_the_lines(
    status: OrderStatus, payment_after: PaymentState
) -> None:
    order = order_in(status)
    assert order.snapshot()["stock"] == "reserved"

    released = order.cancel(reason="out of budget", now=LATER)

    assert released == LINES
    assert order.status is OrderStatus.CANCELLED
    assert order.stock is StockState.RELEASED
    assert order.payment.state is payment_after
    assert (order.cancel_reason, order.cancelled_at) == ("out of budget", LATER)
    snapshot = order.snapshot()
    assert (snapshot["stock"], snapshot["payment"]["state"]) == ("released", payment_after.value)


def test_an_authorized_then_cancelled_order_is_voided_once_the_provider_confirms() -> None:
    order = order_in(OrderStatus.AUTHORIZED)
    assert order.snapshot()["payment"]["state"] == "authorized"

    order.cancel(reason="fraud suspicion", now=LATER)
    assert order.payment.state is PaymentState.VOID_PENDING  # the hold is still on the card
    order.void(void_ref="void-1", released=True, now=LATER)

    assert order.payment.state is PaymentState.VOIDED
    assert order.payment.captured == 0
    assert (order.status, order.version) == (OrderStatus.CANCELLED, 4)
    assert order.events[-1].type is EventType.PAYMENT_VOIDED
    assert order.events[-1].facts == {"amount": order.total, "void_ref": "void-1", "released": True}
    before = freeze(order)
    with pytest.raises(IllegalTransition):  # nothing is pending any more
        order.void(void_ref="void-1", released=True, now=LATER)
    assert_unchanged(order, before)


def test_decline_releases_the_lines() -> None:
    order = order_in(OrderStatus.PENDING_PAYMENT)

    released = order.decline(reason="do not honour", now=LATER)

    assert released == LINES
    assert order.stock is StockState.RELEASED
    assert order.payment.state is PaymentState.DECLINED
    assert order.payment.decline_reason == "do not honour"


@pytest.mark.parametrize(
    ("status", "stock"),
    [
        pytest.param(OrderStatus.PAYMENT_DECLINED, StockState.RELEASED, id="after-decline"),
        pytest.param(OrderStatus.CANCELLED, StockState.RELEASED, id="after-cancel"),
        pytest.param(OrderStatus.CAPTURED, StockState.SOLD, id="after-capture"),
        pytest.param(OrderStatus.DELIVERED, StockState.SOLD, id="after-delivery"),
    ],
)
def test_cancel_cannot_release_stock_a_second_time_or_unsell_it(
    status: OrderStatus, stock: StockState
) -> None:
    order = order_in(status)
    assert order.stock is stock
    before = freeze(order)

    with pytest.raises(IllegalTransition):
        order.cancel(reason="again", now=LATER)

    assert_unchanged(order, before)
    assert order.stock is stock


def test_decline_after_cancel_does_not_release_again() -> None:
    order = order_in(OrderStatus.CANCELLED)
    before = freeze(order)

    with pytest.raises(IllegalTransition):
        order.decline(reason="late provider answer", now=LATER)

    assert_unchanged(order, before)
