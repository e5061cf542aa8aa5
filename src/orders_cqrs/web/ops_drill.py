"""``/ops/stuck``: the orders behind one cell of the stuck-orders grid.

The same Dashboards query as the API's drill-down (``GET /v1/dashboards/stuck-orders?drill=
true``), run in-process, grouped by region, provider and status so that each order shows the
state it is stuck in. Each order links to its page in the support console.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.web.guard import container_of
from orders_cqrs.web.ops_gate import operator_or_login, ops_error
from orders_cqrs.web.render import page

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/ops", include_in_schema=False)
DRILL_LIMIT = 1000  # the API's maximum of order ids per group
VALUE_MAX_CHARS = 200  # regions and provider names are far shorter


def cell_orders(stuck: dict[str, Any], region: str, provider: str) -> list[dict[str, Any]]:
    """The drilled orders of the (region, provider) cell, oldest first, with their status."""
    orders = [
        {**order, "status": group["status"]}
        for group in stuck["groups"]
        if group["region"] == region and group["provider"] == provider
        for order in group["orders_oldest_first"]
    ]
    return sorted(orders, key=lambda order: (-order["age_seconds"], order["order_id"]))


@router.get("/stuck")
async def stuck_cell(request: Request) -> Response:
    """The stuck orders of one grid cell (``?region=…&provider=…``), oldest first."""
    client_id = await operator_or_login(request)
    if isinstance(client_id, Response):
        return client_id
    region = request.query_params.get("region")
    provider = request.query_params.get("provider")
    if region is None or provider is None:
        detail = (
            "Open this list from a cell of the stuck-orders grid: it needs a region and a provider."
        )
        return ops_error(request, 400, "Which cell?", detail, client_id=client_id)
    if len(region) > VALUE_MAX_CHARS or len(provider) > VALUE_MAX_CHARS:
        detail = f"Regions and providers are at most {VALUE_MAX_CHARS} characters."
        return ops_error(request, 400, "Bad request", detail, client_id=client_id)
    context: dict[str, Any] = {
        "client_id": client_id,
        "region": region,
        "provider": provider,
        "orders": [],
        "total": 0,
        "error": None,
    }
    dashboards = container_of(request).dashboards
    if dashboards is None:
        context["error"] = "Analytics is off (ORDERS_CLICKHOUSE_URL is empty)."
        return page(request, "ops_stuck.html", context, status_code=503)
    try:
        stuck = await dashboards.stuck_orders(
            ("region", "provider", "status"), drill=True, limit=DRILL_LIMIT
        )
    except StoreUnavailable as error:
        log.warning("ops_drill_analytics_unavailable", error=str(error)[:300])
        context["error"] = "The analytics store is not answering; try again shortly."
        return page(request, "ops_stuck.html", context, status_code=503)
    context["orders"] = cell_orders(stuck, region, provider)
    context["total"] = sum(
        group["orders"]
        for group in stuck["groups"]
        if group["region"] == region and group["provider"] == provider
    )
    context["sla"] = stuck["sla_seconds"]
    return page(request, "ops_stuck.html", context)
