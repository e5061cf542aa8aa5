"""The console's refund and cancel review: typed money parses exactly, the review shows what the
order's own rules would do and changes nothing, and refusals read as sentences."""

from __future__ import annotations

import pytest

from orders_cqrs.domain.errors import (
    IllegalTransition,
    RefundRuleViolation,
    VersionConflict,
)
from orders_cqrs.domain.values import OrderStatus
from orders_cqrs.web.action_forms import parse_amount, reason_text
from orders_cqrs.web.action_preview import preview_cancel, preview_refund, refusal
from orders_cqrs.web.forms import FormError
from orders_cqrs.web.render import amount_field
from tests.helpers.builders import (
    LATER,
    MUG,
    NOW,
    REFUND_WINDOW,
    TEE,
    TOTAL,
    assert_unchanged,
    freeze,
    order_in,
)


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12,5", "EUR", 1250),
        ("12", "EUR", 1200),
        (" 0.01 ", "EUR", 1),
        ("44.99", "EUR", 4499),
        ("1250", "JPY", 1250),
    ],
)
def test_typed_amounts_become_exact_minor_units(typed: str, currency: str, minor: int) -> None:
    assert parse_amount(typed, currency) == minor
    assert parse_amount(amount_field(minor, currency), currency) == minor  # the field round-trips


@pytest.mark.parametrize(
    ("typed", "currency"),
    [("", "EUR"), ("0", "EUR"), ("-5", "EUR"), ("1.234", "EUR"), ("1e3", "EUR"), ("1.5", "JPY")],
)
def test_amounts_that_are_not_money_of_the_currency_are_refused(typed: str, currency: str) -> None:
    with pytest.raises(FormError):
        parse_amount(typed, currency)


def test_a_refund_needs_a_reason_a_cancel_has_the_apis_default() -> None:
    with pytest.raises(FormError):
        reason_text("   ", required=True)
    assert reason_text("", required=False, default="customer_request") == "customer_request"
    assert reason_text("  parcel \n damaged ", required=True) == "parcel damaged"


def test_the_refund_review_shows_what_remains_and_changes_nothing() -> None:
    order = order_in(OrderStatus.SHIPPED)
    before = freeze(order)
    partial = preview_refund(order, amount=1000, reason="late", window=REFUND_WINDOW, now=LATER)
    assert (partial.refundable_before, partial.refundable_after) == (TOTAL, TOTAL - 1000)
    assert not partial.full and partial.status_after == "SHIPPED"
    assert partial.window_ends == NOW + REFUND_WINDOW
    everything = preview_refund(order, amount=TOTAL, reason="lost", window=REFUND_WINDOW, now=LATER)
    assert everything.full and everything.refundable_after == 0
    assert everything.status_after == "REFUNDED"
    assert_unchanged(order, before)


def test_the_refund_review_refuses_what_the_command_would_refuse() -> None:
    order = order_in(OrderStatus.CAPTURED)
    before = freeze(order)
    with pytest.raises(RefundRuleViolation) as over:
        preview_refund(order, amount=TOTAL + 1, reason="x", window=REFUND_WINDOW, now=LATER)
    assert refusal(over.value, order, TOTAL + 1)["message"] == (
        "45.00 EUR is more than can be refunded: 44.99 EUR remains refundable."
    )
    late = NOW + REFUND_WINDOW + REFUND_WINDOW
    with pytest.raises(RefundRuleViolation):
        preview_refund(order, amount=1, reason="x", window=REFUND_WINDOW, now=late)
    assert_unchanged(order, before)
    pending = order_in(OrderStatus.PENDING_PAYMENT)
    with pytest.raises(RefundRuleViolation) as early:
        preview_refund(pending, amount=1, reason="x", window=REFUND_WINDOW, now=LATER)
    problem = refusal(early.value, pending, 1)
    assert problem["status"] == 422 and problem["type"] == "/problems/refund-rule"
    assert (
        problem["message"] == "The order is pending payment: only captured money can be refunded."
    )


def test_the_cancel_review_lists_the_stock_released_and_the_hold_voided() -> None:
    authorized = order_in(OrderStatus.AUTHORIZED)
    before = freeze(authorized)
    preview = preview_cancel(authorized, reason="customer_request", now=LATER)
    released = {(line.sku, line.quantity) for line in preview.released}
    assert released == {(MUG.sku, MUG.quantity), (TEE.sku, TEE.quantity)}
    assert preview.void_amount == TOTAL and preview.authorization_ref == "auth-1"
    assert_unchanged(authorized, before)
    pending = preview_cancel(order_in(OrderStatus.PENDING_PAYMENT), reason="x", now=LATER)
    assert pending.void_amount is None and len(pending.released) == 2


def test_a_captured_order_cannot_be_cancelled_and_says_why() -> None:
    with pytest.raises(IllegalTransition) as refused:
        preview_cancel(order_in(OrderStatus.CAPTURED), reason="x", now=LATER)
    assert refusal(refused.value)["status"] == 409


def test_a_stale_page_is_told_both_versions() -> None:
    problem = refusal(VersionConflict(expected=3, actual=5))
    assert problem["status"] == 412
    assert problem["message"] == (
        "The order changed since you opened it (version 3 → 5); review it again."
    )
