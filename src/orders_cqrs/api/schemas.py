"""Request and response bodies. Unknown fields are refused; ints are ints, not numeric strings.

Limits live here so they show in the OpenAPI contract that clients (and schemathesis) read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)

from orders_cqrs.domain.money import MAX_AMOUNT, is_currency
from orders_cqrs.domain.values import OrderStatus, PaymentState, StockState

MAX_ORDER_ITEMS = 50
MAX_ITEM_QUANTITY = 1000
MAX_STOCK = 1_000_000_000

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TOKEN_PATTERN = r"^[\x21-\x7e]{1,128}$"  # noqa: S105 - a pattern, not a secret


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _known_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code} is not a supported ISO 4217 currency")
    return code


Text20 = Annotated[StrictStr, Field(min_length=1, max_length=20)]
Text64 = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Text100 = Annotated[StrictStr, Field(min_length=1, max_length=100)]
Text128 = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Text200 = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Text500 = Annotated[StrictStr, Field(min_length=1, max_length=500)]
Text2000 = Annotated[StrictStr, Field(min_length=1, max_length=2000)]
Sku = Annotated[StrictStr, Field(pattern=SKU_PATTERN, examples=["SKU-MUG-01"])]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$", examples=["DE"])]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]
Email = Annotated[StrictStr, Field(max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")]
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
PositiveAmount = Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)]


class Strict(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _storable_text(self) -> Strict:
        # PostgreSQL text holds neither NUL nor lone surrogates; refuse them here as a 422
        # instead of letting the driver fail later.
        for name, value in self.__dict__.items():
            if isinstance(value, str) and ("\x00" in value or not _encodable(value)):
                raise ValueError(f"{name} holds characters that cannot be stored")
        return self


class MoneyIn(Strict):
    """Integer minor units and an ISO 4217 code."""

    amount: PositiveAmount
    currency: Currency


class PriceIn(Strict):
    """A unit price (zero allowed: free samples)."""

    amount: Amount
    currency: Currency


class CustomerIn(Strict):
    """Who buys."""

    id: UUID
    email: Email
    name: Text200
    country: Country | None = None


class ItemIn(Strict):
    """One SKU and how many."""

    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_ITEM_QUANTITY)]


class AddressIn(Strict):
    """Shipping address."""

    country: Country
    region: Text100
    city: Text100
    postal_code: Text20
    line1: Text200


class PaymentIn(Strict):
    """Provider and the opaque token the frontend got from it."""

    provider: Annotated[StrictStr, Field(min_length=1, max_length=32, examples=["sandbox-card"])]
    token: Annotated[StrictStr, Field(pattern=TOKEN_PATTERN, examples=["tok_approve"])]


class PlaceOrderIn(Strict):
    """``POST /v1/orders``."""

    customer: CustomerIn
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=MAX_ORDER_ITEMS)]
    shipping_address: AddressIn
    payment: PaymentIn


class ProductIn(Strict):
    """``PUT /v1/inventory/{sku}``: name, price and stock on hand."""

    name: Text200
    unit_price: PriceIn
    on_hand: Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]


class CaptureIn(Strict):
    """Capture some or (without ``amount``) all of the authorized money."""

    amount: MoneyIn | None = None


class CancelIn(Strict):
    """Why the order is cancelled."""

    reason: Text500 = "customer_request"


class ShipIn(Strict):
    """Carrier and tracking number."""

    carrier: Text64
    tracking_number: Text128


class RefundIn(Strict):
    """How much to give back, and why."""

    amount: MoneyIn
    reason: Text500


class NoteIn(Strict):
    """A support note."""

    body: Text2000


class MoneyOut(BaseModel):
    """Money on the wire: integer minor units and an ISO 4217 code."""

    amount: int
    currency: str


class CustomerOut(BaseModel):
    """Who bought."""

    id: UUID
    email: str
    name: str
    country: str | None


class LineOut(BaseModel):
    """One SKU of the order, priced at placement (minor units of the order's currency)."""

    sku: str
    name: str
    quantity: int
    unit_price: int
    line_total: int


class AddressOut(BaseModel):
    """Where the parcel goes."""

    country: str
    region: str
    city: str
    postal_code: str
    line1: str


class PaymentOut(BaseModel):
    """The order's payment as the provider left it (amounts in minor units)."""

    provider: str
    state: PaymentState
    authorized: int
    captured: int
    refunded: int
    authorization_ref: str | None
    decline_reason: str | None


class ShipmentOut(BaseModel):
    """Carrier and tracking, once shipped."""

    carrier: str
    tracking_number: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class RefundOut(BaseModel):
    """Money given back (minor units of the order's currency)."""

    id: UUID
    amount: int
    reason: str
    created_at: datetime


class NoteOut(BaseModel):
    """A support note."""

    id: UUID
    author: str = Field(description="Who wrote it: the API client or the staff member.")
    body: str
    created_at: datetime


class OrderOut(BaseModel):
    """An order as the write model holds it after the command (also the event snapshot)."""

    order_id: UUID
    version: int = Field(description="+1 per accepted command; the ETag is its quoted value.")
    status: OrderStatus
    customer: CustomerOut
    items: list[LineOut]
    shipping_address: AddressOut
    currency: str
    total: MoneyOut
    payment: PaymentOut
    risk_flags: list[str]
    stock: StockState = Field(description="What the order holds of the inventory.")
    shipment: ShipmentOut | None
    refunds: list[RefundOut]
    notes: list[NoteOut]
    placed_at: datetime
    updated_at: datetime
    captured_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None


class ProductOut(BaseModel):
    """A product with its stock counters."""

    sku: str
    name: str
    unit_price: MoneyOut
    on_hand: int
    reserved: int
    available: int
    sold: int
    version: int


class ProblemError(BaseModel):
    """Where a request broke the contract, and how (the input itself is never echoed)."""

    loc: list[str] = Field(description='Where: `["body", "items", "0", "quantity"]`.')
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, ``application/problem+json``.

    ``type`` is one of the URIs the document's ``x-problem-types`` lists; each resolves to a
    page of the service explaining the problem. Members beyond the standard five appear with
    the problem types that carry them.
    """

    type: str = Field(
        description="`/problems/<type>`: switch on it; open it to read what it means.",
        examples=["/problems/validation"],
    )
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[ProblemError] | None = Field(
        default=None, description="validation, idempotency-key-missing: every fault found."
    )
    sku: str | None = Field(default=None, description="out-of-stock: the SKU short of stock.")
    current_version: int | None = Field(
        default=None, description="version-conflict, min-version-ahead: where the order is."
    )
    min_version: int | None = Field(
        default=None, description="projection-lagging: the version the read asked for."
    )
    projected_version: int | None = Field(
        default=None, description="projection-lagging: the version the read model holds."
    )
