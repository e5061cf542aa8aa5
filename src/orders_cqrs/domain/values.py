"""Value objects and enumerations of the order aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class OrderStatus(StrEnum):
    """Where an order is in its lifecycle."""

    PENDING_PAYMENT = "PENDING_PAYMENT"
    AUTHORIZED = "AUTHORIZED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    CAPTURED = "CAPTURED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


class PaymentState(StrEnum):
    """What the payment provider has done for this order."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOID_PENDING = "void_pending"  # cancelled with a hold the provider has not released yet
    VOIDED = "voided"


class StockState(StrEnum):
    """What the order holds of the inventory: reserved, released back, or sold."""

    RESERVED = "reserved"
    RELEASED = "released"
    SOLD = "sold"


@dataclass(frozen=True, slots=True)
class Customer:
    """Who buys."""

    id: UUID
    email: str
    name: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    """Where the parcel goes."""

    country: str
    region: str
    city: str
    postal_code: str
    line1: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One SKU of the order, priced at placement."""

    sku: str
    name: str
    quantity: int
    unit_price: int

    @property
    def line_total(self) -> int:
        """Quantity times unit price, in minor units."""
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class Payment:
    """The order's payment as the provider left it."""

    provider: str
    state: PaymentState = PaymentState.PENDING
    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    authorization_ref: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    """Carrier and tracking once shipped."""

    carrier: str
    tracking_number: str
    shipped_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """Money given back."""

    id: UUID
    amount: int
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    """A support agent's note on the order."""

    id: UUID
    author: str
    body: str
    created_at: datetime
    author_name: str | None = None  # a staff member's name when they wrote it


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 text of a timestamp, or None."""
    return moment.isoformat() if moment is not None else None


def jsonable(value: Any) -> Any:
    """UUIDs and datetimes as text, recursively; everything else unchanged."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
