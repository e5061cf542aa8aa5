"""Order reads from the Redis summary: lagging allowed, lying never (freshness on every answer)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from orders_cqrs.api.auth import CheckoutOrSupport, Support
from orders_cqrs.api.contract import ETAG, LINK, READ, problem_responses, success
from orders_cqrs.api.deps import LookupsDep, SummaryDep
from orders_cqrs.api.pagination import (
    AfterCursor,
    decode_cursor,
    encode_cursor,
    next_url,
    page_response,
)
from orders_cqrs.api.views import CustomerOrdersPage, OrderView, SupportOrderView
from orders_cqrs.domain.errors import OrderNotFound
from orders_cqrs.failures.refusals import InvalidCursor, VersionNotWritten
from orders_cqrs.readmodels.summary.reader import CustomerKey, SummaryRead

router = APIRouter(tags=["reads"])
MinVersion = Annotated[
    int | None,
    Query(ge=1, le=2**31 - 1, description="Wait (bounded) until the read holds this version."),
]


def _order_view(read: SummaryRead) -> dict[str, Any]:
    return {**read.order, "freshness": read.freshness.to_dict()}


IfNoneMatch = Annotated[
    str | None,
    Header(
        max_length=1000,
        description='The ETags you hold (`"3"`, or a list): 304 if the order is still at one.',
    ),
]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not modified: the order is still at the version of your ETag.",
        "headers": ETAG,
    }
}
# Reads of one order: not there (yet), a min_version from the future, or one still on its way.
ORDER_READ = problem_responses(*READ, "not-found", "min-version-ahead", "projection-lagging")
CUSTOMER_ORDERS = "customer-orders"  # the cursor's listing name
EPOCH_MS_MAX = 2**53  # a placement time in epoch milliseconds, as a double holds it exactly


def _etagged(body: dict[str, Any], version: int) -> JSONResponse:
    return JSONResponse(body, headers={"ETag": f'"{version}"'})


def _holds(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weak comparison, RFC 9110 §13.1.2)."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def _read(
    summary: SummaryDep, lookups: LookupsDep, order_id: UUID, min_version: int | None
) -> SummaryRead:
    """The summary at ``min_version`` or later; 404 when no such order exists anywhere.

    When the summary is behind ``min_version``, the write model is asked once, before any
    wait: an order it does not have is a 404, and a version it has not reached a 409, both at
    once, so a client never retries a typo or a version from the future against a 503. Only
    a version the write model holds is worth the (bounded) wait for the projection.
    """
    read = await summary.order(str(order_id))
    if min_version is not None and (read is None or read.freshness.source_version < min_version):
        written = await lookups.order_version(order_id)
        if written is None:
            raise OrderNotFound(f"no order {order_id}")
        if written < min_version:
            raise VersionNotWritten(
                f"order {order_id} is at version {written}; min_version {min_version} is ahead",
                current_version=written,
            )
        read = await summary.order_at_least(str(order_id), min_version)
    if read is None:
        raise OrderNotFound(f"no order {order_id} in the read model")
    return read


@router.get(
    "/v1/orders/{order_id}",
    response_model=OrderView,
    responses=success(200, headers=ETAG) | NOT_MODIFIED | ORDER_READ,
)
async def get_order(
    order_id: UUID,
    principal: CheckoutOrSupport,
    summary: SummaryDep,
    lookups: LookupsDep,
    min_version: MinVersion = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The order summary with its freshness; ``min_version`` waits, then 503 rather than lie."""
    read = await _read(summary, lookups, order_id, min_version)
    version = read.freshness.source_version
    if if_none_match is not None and _holds(if_none_match, f'"{version}"'):
        return Response(status_code=304, headers={"ETag": f'"{version}"'})
    return _etagged(_order_view(read), version)


def _customer_key(cursor: str, customer_id: UUID) -> CustomerKey:
    """The (placement ms, order id) a customer-orders cursor ends at."""
    key = decode_cursor(cursor, CUSTOMER_ORDERS, str(customer_id))
    if not (
        len(key) == 2
        and isinstance(key[0], int)
        and 0 <= key[0] <= EPOCH_MS_MAX
        and isinstance(key[1], str)
    ):
        raise InvalidCursor("after is not a cursor this listing issued")
    try:
        return key[0], str(UUID(key[1]))
    except ValueError as error:
        raise InvalidCursor("after is not a cursor this listing issued") from error


@router.get(
    "/v1/customers/{customer_id}/orders",
    response_model=CustomerOrdersPage,
    responses=success(200, headers=LINK) | problem_responses(*READ),
)
async def customer_orders(
    customer_id: UUID,
    principal: CheckoutOrSupport,
    summary: SummaryDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Orders per page.")] = 20,
    after: AfterCursor = None,
) -> JSONResponse:
    """A customer's orders, newest first, each with its freshness; ``next`` pages on.

    Pages follow placement time, then order id: orders placed while a client pages through
    appear before its first page, never again on a later one.
    """
    start = _customer_key(after, customer_id) if after is not None else None
    page = await summary.customer_page(str(customer_id), limit, start)
    next_page = None
    if page.last is not None:
        cursor = encode_cursor(CUSTOMER_ORDERS, str(customer_id), list(page.last))
        next_page = next_url(request, cursor, limit)
    body = {"customer_id": str(customer_id), "orders": [_order_view(r) for r in page.reads]}
    return page_response(body, next_page)


@router.get(
    "/v1/support/orders/{order_id}",
    response_model=SupportOrderView,
    responses=success(200, headers=ETAG) | ORDER_READ,
)
async def support_order(
    order_id: UUID,
    principal: Support,
    summary: SummaryDep,
    lookups: LookupsDep,
    min_version: MinVersion = None,
) -> JSONResponse:
    """The one-page support view: the order, the customer's other orders, freshness."""
    read = await _read(summary, lookups, order_id, min_version)
    others = await summary.customer_orders(read.order["customer"]["id"], 20)
    body = {
        "order": read.order,
        "other_orders": [
            {
                "order_id": o.order["order_id"],
                "status": o.order["status"],
                "total": o.order["total"],
                "placed_at": o.order["placed_at"],
                "version": o.freshness.source_version,
            }
            for o in others
            if o.order["order_id"] != str(order_id)
        ],
        "freshness": read.freshness.to_dict(),
    }
    return _etagged(body, read.freshness.source_version)
