"""Support search: text, filters, date range, sort, pages, highlights, and index freshness."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from opensearchpy.exceptions import RequestError
from redis.exceptions import RedisError

from orders_cqrs.api.auth import Support
from orders_cqrs.api.contract import READ, problem_responses
from orders_cqrs.api.deps import AdminDep, SupportSearchDep
from orders_cqrs.api.views import SearchResults
from orders_cqrs.failures.refusals import InvalidSearch
from orders_cqrs.readmodels.search.reader import SORTS, BadCursor, SearchRequest, filter_values

router = APIRouter(tags=["support"])
Filter = Annotated[
    list[str] | None,
    Query(max_length=20, description="Repeat or comma-separate to match any of several values."),
]


EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2200, 1, 1)


@router.get("/v1/support/orders", response_model=SearchResults, responses=problem_responses(*READ))
async def search(
    principal: Support,
    support_search: SupportSearchDep,
    admin: AdminDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Filter = None,
    payment_state: Filter = None,
    risk: Filter = None,
    region: Filter = None,
    provider: Filter = None,
    country: Filter = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
    sort: Literal["newest", "oldest", "total_desc", "total_asc", "updated"] = "newest",
    size: Annotated[int, Query(ge=1, le=100)] = 20,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    after: Annotated[str | None, Query(max_length=500)] = None,
    before: Annotated[
        str | None,
        Query(max_length=500, description="`prev_before` of a page: the page before it."),
    ] = None,
) -> JSONResponse:
    """Find orders by a fragment: order-id or email prefix, part of a name, a SKU or note word."""
    assert sort in SORTS
    for bound in (from_, to):
        if bound is not None and not EARLIEST <= bound.replace(tzinfo=None) <= LATEST:
            raise InvalidSearch("from and to must lie between 1970 and 2200")
    request = SearchRequest(
        q=q if q and q.strip() else None,
        filters={
            "status": filter_values(status),
            "payment_state": filter_values(payment_state),
            "risk_flags": filter_values(risk),
            "region": filter_values(region),
            "provider": filter_values(provider),
            "country": filter_values(country),
        },
        placed_from=from_,
        placed_to=to,
        sort=sort,
        size=size,
        page=page,
        after=after,
        before=before,
    )
    try:
        result = await support_search.orders(request)
    except BadCursor as error:
        raise InvalidSearch(str(error)) from error
    except RequestError as error:  # a 400 from OpenSearch is a request we should not send
        raise InvalidSearch("the search could not be run with these parameters") from error
    try:
        status_now = await admin.status("search")
        result["freshness"] = {
            "last_event_id": status_now["last_event_id"],
            "lag_events": status_now["lag_events"],
            "lag_seconds": status_now["lag_seconds"],
        }
    except RedisError:  # the answer is still right; only how fresh it is cannot be told
        result["freshness"] = {"last_event_id": None, "lag_events": None, "lag_seconds": None}
    return JSONResponse(result)
