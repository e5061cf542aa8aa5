"""What a refund or a cancel would do to an order, worked out by the order's own rules.

The confirmation step must show the truth, so it does not re-implement the rules: it runs the
aggregate's ``refund`` or ``cancel`` on a copy of the order as last committed and reads the
result (what remains refundable, which lines' stock goes back, whether a hold is voided). A
rule the change would break raises the same ``DomainError`` the command would. Nothing here
is saved; the command loads the order again, locked, and decides for itself.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from orders_cqrs.api.problems import PROBLEMS, TYPE_PREFIX
from orders_cqrs.domain.errors import DomainError, RefundRuleViolation, VersionConflict
from orders_cqrs.domain.order import ALLOWED_FROM, Order
from orders_cqrs.domain.values import PaymentState
from orders_cqrs.web.render import minor


@dataclass(frozen=True, slots=True)
class RefundPreview:
    """A refund as it would land: the money before and after, and the order's new state."""

    amount: int
    currency: str
    reason: str
    captured: int
    refunded_before: int
    refundable_before: int
    refundable_after: int
    full: bool
    status_after: str
    window_ends: datetime | None


@dataclass(frozen=True, slots=True)
class StockLine:
    """One line whose reserved units go back to the shelf."""

    sku: str
    name: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CancelPreview:
    """A cancel as it would land: the stock released and the authorization voided, if any."""

    reason: str
    currency: str
    released: tuple[StockLine, ...]
    stock_state: str
    void_amount: int | None
    provider: str
    authorization_ref: str | None


def preview_refund(
    order: Order, *, amount: int, reason: str, window: timedelta, now: datetime
) -> RefundPreview:
    """The refund of ``amount`` run on a copy of ``order``; the rule it breaks is raised."""
    after = copy.deepcopy(order)
    after.refund(
        refund_id=uuid4(),
        amount=amount,
        reason=reason,
        window=window,
        now=now,
        currency=order.currency,
    )
    return RefundPreview(
        amount=amount,
        currency=order.currency,
        reason=reason,
        captured=order.payment.captured,
        refunded_before=order.payment.refunded,
        refundable_before=order.refundable,
        refundable_after=after.refundable,
        full=after.refundable == 0,
        status_after=after.status.value,
        window_ends=None if order.captured_at is None else order.captured_at + window,
    )


def preview_cancel(order: Order, *, reason: str, now: datetime) -> CancelPreview:
    """The cancel run on a copy of ``order``; ``IllegalTransition`` when it cannot be."""
    after = copy.deepcopy(order)
    released = after.cancel(reason=reason, now=now)
    holds = order.payment.state is PaymentState.AUTHORIZED
    return CancelPreview(
        reason=reason,
        currency=order.currency,
        released=tuple(StockLine(line.sku, line.name, line.quantity) for line in released),
        stock_state=order.stock.value,
        void_amount=order.payment.authorized if holds else None,
        provider=order.payment.provider,
        authorization_ref=order.payment.authorization_ref if holds else None,
    )


def stale_message(seen: int, now: int) -> str:
    """What a person is told when the order moved on under their page."""
    return f"The order changed since you opened it (version {seen} → {now}); review it again."


def refusal(
    error: DomainError, order: Order | None = None, amount: int | None = None
) -> dict[str, Any]:
    """A refusal as an RFC 9457 problem (type, title, status, detail) plus the sentence the
    page leads with; ``order`` (as committed) lets the sentence name amounts in money."""
    kind = error.problem_type if error.problem_type in PROBLEMS else "validation"
    status, title = PROBLEMS[kind]
    message = f"{title}: {error.detail}."
    if isinstance(error, VersionConflict):
        message = stale_message(error.expected, error.actual)
    elif isinstance(error, RefundRuleViolation) and order is not None and amount is not None:
        if order.status not in ALLOWED_FROM["refund"]:
            state = order.status.value.replace("_", " ").lower()
            message = f"The order is {state}: only captured money can be refunded."
        elif amount > order.refundable:
            left = minor(order.refundable, order.currency)
            asked = minor(amount, order.currency)
            message = f"{asked} is more than can be refunded: {left} remains refundable."
    elif kind == "payment-in-flight":
        message = "A payment authorization of this order is under way. Try again in a moment."
    elif kind == "idempotency-mismatch":
        message = "This confirmation was already used for a different change. Review it again."
    elif kind == "idempotency-in-flight":
        message = "This confirmation is still being carried out. Reload the order in a moment."
    return {
        "type": TYPE_PREFIX + kind,
        "kind": kind,
        "title": title,
        "status": status,
        "detail": error.detail,
        "message": message,
    }
