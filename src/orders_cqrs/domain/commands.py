"""Commands: what a client asks the service to do, in the imperative."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from orders_cqrs.domain.values import Address, Customer


class Command:
    """What a client asks the write model to do; the command side answers each one once."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class PutProduct(Command):
    """Create a product or restock it."""

    sku: str
    name: str
    unit_price: int
    currency: str
    on_hand: int


@dataclass(frozen=True, slots=True)
class PlaceOrder(Command):
    """Reserve stock and open an order for payment."""

    customer: Customer
    items: tuple[tuple[str, int], ...]
    shipping: Address
    provider: str
    token: str


@dataclass(frozen=True, slots=True)
class AuthorizePayment(Command):
    """Ask the order's payment provider to authorize its total."""

    order_id: UUID


@dataclass(frozen=True, slots=True)
class CapturePayment(Command):
    """Take authorized money; ``amount`` None means all of it."""

    order_id: UUID
    amount: int | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class CancelOrder(Command):
    """Cancel before capture and release the stock."""

    order_id: UUID
    reason: str


@dataclass(frozen=True, slots=True)
class ShipOrder(Command):
    """Hand the parcel to a carrier."""

    order_id: UUID
    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class DeliverOrder(Command):
    """Mark the parcel delivered."""

    order_id: UUID


@dataclass(frozen=True, slots=True)
class IssueRefund(Command):
    """Give money back."""

    order_id: UUID
    amount: int
    currency: str
    reason: str


@dataclass(frozen=True, slots=True)
class AddSupportNote(Command):
    """Write a support note on the order."""

    order_id: UUID
    body: str
