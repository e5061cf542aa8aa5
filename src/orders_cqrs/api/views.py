"""What the read endpoints answer: orders from the Redis summary, the support view, search.

These models describe the bodies for the OpenAPI document (and so for generated clients);
the routes still send the read models' JSON as it is, so a field a model does not name is
never dropped on the way out. Extra members are allowed for the same reason: a client must
not break when a read model learns a new field.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from orders_cqrs.api.schemas import MoneyOut, OrderOut
from orders_cqrs.domain.values import OrderStatus, PaymentState


class ReadFreshness(BaseModel):
    """How current a read is: the version the read model holds, the event that wrote it, when."""

    source_version: int = Field(description="The order version this read holds.")
    last_event_id: str = Field(description="The event that wrote it.")
    committed_at: datetime | None = Field(description="When that event committed.")
    projected_at: datetime = Field(description="When the read model applied it.")
    age_seconds: float = Field(description="Seconds since it was applied.")


class OrderView(OrderOut):
    """An order from the read model, with its freshness."""

    freshness: ReadFreshness


class CustomerOrdersPage(BaseModel):
    """One page of a customer's orders, newest first (placement time, then order id)."""

    customer_id: UUID
    orders: list[OrderView]
    next: str | None = Field(
        description="The next page's URL (relative to the API), or null on the last page."
    )


class OtherOrder(BaseModel):
    """Another order of the same customer, in brief."""

    order_id: UUID
    status: OrderStatus
    total: MoneyOut
    placed_at: datetime
    version: int


class SupportOrderView(BaseModel):
    """The one-page support view of an order."""

    order: OrderOut
    other_orders: list[OtherOrder] = Field(description="The customer's other recent orders.")
    freshness: ReadFreshness


class SearchCustomer(BaseModel):
    """The buyer of a hit."""

    id: UUID
    name: str
    email: str


class SearchHit(BaseModel):
    """An order found by support search."""

    order_id: UUID
    status: OrderStatus
    payment_state: PaymentState
    provider: str
    risk_flags: list[str]
    customer: SearchCustomer
    region: str
    country: str
    total: MoneyOut
    placed_at: datetime
    source_version: int
    projected_at: datetime
    highlights: dict[str, list[str]] = Field(
        description="Matched fragments by field, `<em>`-marked."
    )


class IndexFreshness(BaseModel):
    """How far the support index is behind the stream (nulls: it cannot be told right now)."""

    last_event_id: str | None
    lag_events: int | None
    lag_seconds: float | None


class SearchResults(BaseModel):
    """A page of search hits."""

    total: int = Field(description="Orders matching, on all pages.")
    hits: list[SearchHit]
    next_after: str | None = Field(
        description="Pass as `after` for the next page (deep paging); null on the last page."
    )
    prev_before: str | None = Field(
        default=None,
        description="Pass as `before` for the page before this one; null on the first page.",
    )
    took_ms: int | None
    freshness: IndexFreshness
