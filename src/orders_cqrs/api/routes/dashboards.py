"""Ops dashboards from ClickHouse: stuck orders and order time series, each with freshness."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from orders_cqrs.api.admin_views import OrderSeries, StuckOrders
from orders_cqrs.api.auth import Ops
from orders_cqrs.api.contract import READ, problem_responses
from orders_cqrs.api.deps import AdminDep, DashboardsDep
from orders_cqrs.api.durations import DURATION_PATTERN, duration_seconds
from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.readmodels.admin import ProjectionAdmin
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, parse_group_by
from orders_cqrs.readmodels.analytics.projection import NAME as ANALYTICS

router = APIRouter(prefix="/v1/dashboards", tags=["dashboards"])
UNAVAILABLE = "the analytics store is unavailable"


async def analytics_freshness(admin: ProjectionAdmin) -> dict[str, Any]:
    """How far the analytics read model is behind the stream: the projection's status."""
    status = await admin.status(ANALYTICS)
    return {
        "projection": ANALYTICS,
        "last_event_id": status["last_event_id"],
        "last_position": status["last_position"],
        "lag_events": status["lag_events"],
        "lag_seconds": status["lag_seconds"],
        "heartbeat": status["heartbeat"],
        "dead_letters": await admin.dead_letters.count_open(ANALYTICS),
    }


def _switched_on(dashboards: Dashboards | None) -> Dashboards:
    if dashboards is None:
        raise StoreUnavailable("analytics is off: ORDERS_CLICKHOUSE_URL is empty")
    return dashboards


async def _with_freshness(query: Awaitable[dict[str, Any]], admin: ProjectionAdmin) -> JSONResponse:
    """The dashboard's answer, with the analytics projection's freshness beside it."""
    try:
        body = await query
    except StoreUnavailable as error:  # its text names paths and hosts: not for clients
        raise StoreUnavailable(UNAVAILABLE) from error
    body["freshness"] = await analytics_freshness(admin)
    return JSONResponse(body)


@router.get("/stuck-orders", response_model=StuckOrders, responses=problem_responses(*READ))
async def stuck_orders(
    principal: Ops,
    dashboards: DashboardsDep,
    admin: AdminDep,
    group_by: Annotated[
        str, Query(max_length=100, description="Comma-separated: region, provider, status.")
    ] = "region,provider",
    older_than: Annotated[
        str | None,
        Query(
            pattern=DURATION_PATTERN,
            description=(
                "Overrides every per-state SLA: seconds (`900`), with a unit (`90s`, `15m`,"
                " `2h`, `1d`) or ISO 8601 (`PT15M`, `P1DT12H`)."
            ),
            examples=["15m"],
        ),
    ] = None,
    drill: Annotated[bool, Query(description="List the oldest order ids of each group.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000, description="Order ids per group.")] = 20,
) -> JSONResponse:
    """Orders past their state's SLA, grouped: count and oldest age (optionally the ids)."""
    analytics = _switched_on(dashboards)
    columns = parse_group_by(group_by)
    seconds = None if older_than is None else duration_seconds(older_than)
    query = analytics.stuck_orders(columns, older_than=seconds, drill=drill, limit=limit)
    return await _with_freshness(query, admin)


@router.get("/orders", response_model=OrderSeries, responses=problem_responses(*READ))
async def order_series(
    principal: Ops,
    dashboards: DashboardsDep,
    admin: AdminDep,
    interval: Literal["minute", "hour", "day"] = "hour",
    by: Literal["region", "provider", "none"] = "none",
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: Annotated[datetime | None, Query()] = None,
) -> JSONResponse:
    """Orders placed, revenue, captures, refunds and decline rate per bucket and dimension."""
    analytics = _switched_on(dashboards)
    return await _with_freshness(analytics.order_series(interval, by, from_, to), admin)
