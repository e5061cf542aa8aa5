"""The Order aggregate: its state machine and every business rule of a checkout.

Each accepted command bumps ``version`` by exactly one and records exactly one event whose
payload is the full snapshot at that version, so projectors can apply "latest version wins".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from orders_cqrs.domain.errors import (
    CaptureRuleViolation,
    IllegalTransition,
    InvalidOrder,
    RefundRuleViolation,
    VersionConflict,
)
from orders_cqrs.domain.events import EventType, OrderEvent
from orders_cqrs.domain.values import (
    Address,
    Customer,
    Note,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentState,
    Refund,
    Shipment,
    StockState,
    iso,
    jsonable,
)
from orders_cqrs.domain.values import OrderStatus as S

# The lifecycle as data: which statuses each command may start from.
ALLOWED_FROM: dict[str, frozenset[OrderStatus]] = {
    "authorize": frozenset({S.PENDING_PAYMENT}),
    "decline": frozenset({S.PENDING_PAYMENT}),
    "capture": frozenset({S.AUTHORIZED}),
    "cancel": frozenset({S.PENDING_PAYMENT, S.AUTHORIZED}),
    "ship": frozenset({S.CAPTURED}),
    "deliver": frozenset({S.SHIPPED}),
    "refund": frozenset({S.CAPTURED, S.SHIPPED, S.DELIVERED}),
    "add_note": frozenset(OrderStatus),
}


@dataclass
class Order:
    """An order and the rules that guard it. Pure: callers pass the clock in."""

    id: UUID
    version: int
    status: OrderStatus
    customer: Customer
    lines: tuple[OrderLine, ...]
    shipping: Address
    currency: str
    payment: Payment
    risk_flags: tuple[str, ...]
    stock: StockState
    placed_at: datetime
    updated_at: datetime
    captured_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    shipment: Shipment | None = None
    refunds: tuple[Refund, ...] = ()
    notes: tuple[Note, ...] = ()
    events: list[OrderEvent] = field(default_factory=list, compare=False)

    # ----------------------------------------------------------------- placement
    @classmethod
    def place(
        cls,
        *,
        order_id: UUID,
        customer: Customer,
        lines: tuple[OrderLine, ...],
        shipping: Address,
        currency: str,
        provider: str,
        risk_flags: tuple[str, ...],
        now: datetime,
    ) -> Order:
        """A new order, stock already reserved, waiting for payment authorization."""
        if not lines:
            raise InvalidOrder("an order needs at least one line")
        if len({line.sku for line in lines}) != len(lines):
            raise InvalidOrder("each SKU may appear on one line only")
        order = cls(
            id=order_id,
            version=0,
            status=S.PENDING_PAYMENT,
            customer=customer,
            lines=lines,
            shipping=shipping,
            currency=currency,
            payment=Payment(provider=provider),
            risk_flags=risk_flags,
            stock=StockState.RESERVED,
            placed_at=now,
            updated_at=now,
        )
        order._record(EventType.ORDER_PLACED, now, {"risk_flags": list(risk_flags)})
        return order

    @property
    def total(self) -> int:
        """Sum of the lines, in minor units."""
        return sum(line.line_total for line in self.lines)

    @property
    def refundable(self) -> int:
        """Captured minus already refunded."""
        return self.payment.captured - self.payment.refunded

    # ----------------------------------------------------------------- guards
    def expect_version(self, expected: int | None) -> None:
        """Optimistic concurrency: the client's ``If-Match`` must name the current version."""
        if expected is not None and expected != self.version:
            raise VersionConflict(expected, self.version)

    def ensure_can(self, command: str) -> None:
        """Refuse early when the status does not allow ``command`` (before calling out)."""
        self._require(command)

    def _require(self, command: str) -> None:
        if self.status not in ALLOWED_FROM[command]:
            raise IllegalTransition(f"cannot {command} an order that is {self.status.value}")

    # ----------------------------------------------------------------- payment
    def authorize(self, *, authorization_ref: str, now: datetime) -> None:
        """The provider approved the full order total."""
        self._require("authorize")
        self.payment = replace(
            self.payment,
            state=PaymentState.AUTHORIZED,
            authorized=self.total,
            authorization_ref=authorization_ref,
        )
        self.status = S.AUTHORIZED
        self._record(
            EventType.PAYMENT_AUTHORIZED,
            now,
            {"amount": self.total, "authorization_ref": authorization_ref},
        )

    def decline(self, *, reason: str, now: datetime) -> tuple[OrderLine, ...]:
        """The provider declined; the reserved stock goes back. Returns the lines to release."""
        self._require("decline")
        self.payment = replace(self.payment, state=PaymentState.DECLINED, decline_reason=reason)
        self.status = S.PAYMENT_DECLINED
        released = self._release_stock()
        self._record(EventType.PAYMENT_DECLINED, now, {"reason": reason})
        return released

    def capture(
        self, *, amount: int | None, now: datetime, currency: str | None = None
    ) -> tuple[OrderLine, ...]:
        """Take the money, never more than authorized. Returns the lines that become sold."""
        self._require("capture")
        if currency is not None and currency != self.currency:
            raise CaptureRuleViolation(f"the order is in {self.currency}, not {currency}")
        take = self.payment.authorized if amount is None else amount
        if take <= 0:
            raise CaptureRuleViolation("capture amount must be positive")
        if take > self.payment.authorized:
            raise CaptureRuleViolation(
                f"capture of {take} exceeds the authorized {self.payment.authorized}"
            )
        self.payment = replace(self.payment, state=PaymentState.CAPTURED, captured=take)
        self.status = S.CAPTURED
        self.captured_at = now
        sold = self.lines if self.stock is StockState.RESERVED else ()
        self.stock = StockState.SOLD
        self._record(EventType.PAYMENT_CAPTURED, now, {"amount": take})
        return sold

    # ----------------------------------------------------------------- lifecycle
    def cancel(self, *, reason: str, now: datetime) -> tuple[OrderLine, ...]:
        """Cancel before capture; the reservation is released exactly once.

        An authorization's hold is still on the customer's card: the payment is left
        ``void_pending`` until the provider confirms the void (``void``).
        """
        self._require("cancel")
        if self.payment.state is PaymentState.AUTHORIZED:
            self.payment = replace(self.payment, state=PaymentState.VOID_PENDING)
        self.status = S.CANCELLED
        self.cancelled_at = now
        self.cancel_reason = reason
        released = self._release_stock()
        self._record(EventType.ORDER_CANCELLED, now, {"reason": reason})
        return released

    def void(self, *, void_ref: str, released: bool, now: datetime) -> None:
        """The provider released the cancelled order's hold (``released``: False when it held
        nothing under that authorization any more, which ends the same way)."""
        if self.payment.state is not PaymentState.VOID_PENDING:
            raise IllegalTransition(f"no void is pending: the payment is {self.payment.state}")
        self.payment = replace(self.payment, state=PaymentState.VOIDED)
        self._record(
            EventType.PAYMENT_VOIDED,
            now,
            {"amount": self.payment.authorized, "void_ref": void_ref, "released": released},
        )

    def ship(self, *, carrier: str, tracking_number: str, now: datetime) -> None:
        """Hand the parcel to a carrier."""
        self._require("ship")
        self.shipment = Shipment(carrier=carrier, tracking_number=tracking_number, shipped_at=now)
        self.status = S.SHIPPED
        self._record(
            EventType.ORDER_SHIPPED, now, {"carrier": carrier, "tracking_number": tracking_number}
        )

    def deliver(self, *, now: datetime) -> None:
        """The carrier delivered the parcel."""
        self._require("deliver")
        assert self.shipment is not None  # SHIPPED always has a shipment
        self.shipment = replace(self.shipment, delivered_at=now)
        self.status = S.DELIVERED
        self._record(EventType.ORDER_DELIVERED, now, {})

    def refund(
        self,
        *,
        refund_id: UUID,
        amount: int,
        reason: str,
        window: timedelta,
        now: datetime,
        currency: str | None = None,
    ) -> None:
        """Give money back: after capture, within the window, never above what is left."""
        if self.status not in ALLOWED_FROM["refund"]:
            raise RefundRuleViolation(f"cannot refund an order that is {self.status.value}")
        if currency is not None and currency != self.currency:
            raise RefundRuleViolation(f"the order is in {self.currency}, not {currency}")
        if amount <= 0:
            raise RefundRuleViolation("refund amount must be positive")
        if amount > self.refundable:
            raise RefundRuleViolation(
                f"refund of {amount} exceeds the refundable {self.refundable}"
            )
        assert self.captured_at is not None  # refundable statuses are all after capture
        if now - self.captured_at > window:
            raise RefundRuleViolation(f"the refund window of {window.days} days has passed")
        refunded = self.payment.refunded + amount
        full = refunded == self.payment.captured
        self.payment = replace(
            self.payment,
            refunded=refunded,
            state=PaymentState.REFUNDED if full else PaymentState.PARTIALLY_REFUNDED,
        )
        if full:
            self.status = S.REFUNDED
        self.refunds = (*self.refunds, Refund(refund_id, amount, reason, now))
        self._record(
            EventType.REFUND_ISSUED,
            now,
            {"refund_id": str(refund_id), "amount": amount, "reason": reason, "full": full},
        )

    def add_note(
        self,
        *,
        note_id: UUID,
        author: str,
        body: str,
        now: datetime,
        author_name: str | None = None,
    ) -> None:
        """Support writes down what happened; allowed in every status. ``author`` is who sent
        it (``staff:<id>`` or an API client), ``author_name`` the person's name, if a person."""
        self.notes = (*self.notes, Note(note_id, author, body, now, author_name))
        facts = {"note_id": str(note_id), "author": author, "body": body}
        if author_name is not None:
            facts["author_name"] = author_name
        self._record(EventType.SUPPORT_NOTE_ADDED, now, facts)

    # ----------------------------------------------------------------- internals
    def _release_stock(self) -> tuple[OrderLine, ...]:
        if self.stock is not StockState.RESERVED:
            return ()
        self.stock = StockState.RELEASED
        return self.lines

    def _record(self, event_type: EventType, now: datetime, facts: dict[str, Any]) -> None:
        self.version += 1
        self.updated_at = now
        self.events.append(
            OrderEvent(
                type=event_type,
                aggregate_id=self.id,
                aggregate_version=self.version,
                snapshot=self.snapshot(),
                facts=facts,
            )
        )

    def snapshot(self) -> dict[str, Any]:
        """The whole order as JSON-ready data: the API's and every event's view of it."""
        payment = self.payment
        return {
            "order_id": str(self.id),
            "version": self.version,
            "status": self.status.value,
            "customer": jsonable(
                {
                    "id": self.customer.id,
                    "email": self.customer.email,
                    "name": self.customer.name,
                    "country": self.customer.country,
                }
            ),
            "items": [
                {
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "line_total": line.line_total,
                }
                for line in self.lines
            ],
            "shipping_address": {
                "country": self.shipping.country,
                "region": self.shipping.region,
                "city": self.shipping.city,
                "postal_code": self.shipping.postal_code,
                "line1": self.shipping.line1,
            },
            "currency": self.currency,
            "total": {"amount": self.total, "currency": self.currency},
            "payment": {
                "provider": payment.provider,
                "state": payment.state.value,
                "authorized": payment.authorized,
                "captured": payment.captured,
                "refunded": payment.refunded,
                "authorization_ref": payment.authorization_ref,
                "decline_reason": payment.decline_reason,
            },
            "risk_flags": list(self.risk_flags),
            "stock": self.stock.value,
            "shipment": None
            if self.shipment is None
            else {
                "carrier": self.shipment.carrier,
                "tracking_number": self.shipment.tracking_number,
                "shipped_at": iso(self.shipment.shipped_at),
                "delivered_at": iso(self.shipment.delivered_at),
            },
            "refunds": [jsonable(vars_of(r)) for r in self.refunds],
            "notes": [jsonable(vars_of(n)) for n in self.notes],
            "placed_at": iso(self.placed_at),
            "updated_at": iso(self.updated_at),
            "captured_at": iso(self.captured_at),
            "cancelled_at": iso(self.cancelled_at),
            "cancel_reason": self.cancel_reason,
        }


def vars_of(value: Refund | Note) -> dict[str, Any]:
    """A slotted dataclass as a dict."""
    return {name: getattr(value, name) for name in value.__dataclass_fields__}
