"""The ops page: projection lag and dead letters, stuck orders by region × provider, and a
chart of orders and declines. Server-rendered; a small script refreshes the live part.

Sign-in is the console pattern: an ops staff account's email and password, checked once, and
a session cookie scoped to ``/ops`` (``web/session.py``). A ``Bearer`` ops key works too
(curl, scripts: machines).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from orders_cqrs.api.auth import Principal, authenticate
from orders_cqrs.bootstrap import Container
from orders_cqrs.failures.stores import StoreUnavailable
from orders_cqrs.web.forms import form_fields
from orders_cqrs.web.guard import CrossSiteForm, container_of, same_site_form
from orders_cqrs.web.ops_chart import orders_chart
from orders_cqrs.web.ops_grid import stuck_grid
from orders_cqrs.web.ops_lag import lag_history
from orders_cqrs.web.ops_panels import action_view, live_summary
from orders_cqrs.web.render import error_page, page, secured
from orders_cqrs.web.session import OPS, acting_principal
from orders_cqrs.web.signin import sign_in

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/ops", include_in_schema=False)
REFRESH_SECONDS = 10
# window → (bucket interval, length): minute buckets for the last hours, coarser for longer.
WINDOWS: dict[str, tuple[str, timedelta]] = {
    "1h": ("minute", timedelta(hours=1)),
    "6h": ("minute", timedelta(hours=6)),
    "24h": ("hour", timedelta(hours=24)),
    "7d": ("day", timedelta(days=7)),
}
STEPS = {"minute": 60, "hour": 3600, "day": 86_400}


async def operator_principal(request: Request) -> Principal | None:
    """Who is on the ops page: a signed-in ops person (``staff:<id>``, name, email), or a
    script with an ops key as a Bearer token; None for anybody else."""
    container = container_of(request)
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key:
        found = authenticate(container.api_clients, key.strip())
        if found is None or found.role != OPS.role:
            return None
        return Principal(role=found.role, client_id=found.client_id)
    session = await container.console_sessions.signed_in(request, OPS)
    return None if session is None else acting_principal(session)


async def operator(request: Request) -> str | None:
    """The ops principal's id (``staff:<id>`` or an ops key's client id), if any."""
    principal = await operator_principal(request)
    return None if principal is None else principal.client_id


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The sign-in form."""
    return page(request, "ops_login.html", {"error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    """An ops account's email and password get a session cookie; anything else the form."""
    if cross_site(request):
        return _refused(request)
    fields = await form_fields(request)
    answer = await sign_in(
        request, OPS, fields, template="ops_login.html", target="/ops", context={"error": None}
    )
    return secured(answer)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session: revoked on the server, forgotten by the browser."""
    if cross_site(request):
        return _refused(request)
    response = RedirectResponse("/ops/login", status_code=303)
    await container_of(request).console_sessions.end(request, response, OPS)
    return secured(response)


def cross_site(request: Request) -> bool:
    """Was this form posted from another site? (The ops routes are not ``PageRoute``s: their
    refusals are answered here, not raised.)"""
    try:
        same_site_form(request)
    except CrossSiteForm:
        return True
    return False


def _refused(request: Request) -> Response:
    return error_page(request, 403, "Refused", "That form was sent from another site.")


@router.get("")
async def ops_page(request: Request, window: str = "6h", partial: bool = False) -> Response:
    """The page (or, for the refresh script, only its live part)."""
    agent = await operator_principal(request)
    if agent is None:
        if partial:
            return secured(Response("sign in again", status_code=401))
        return secured(RedirectResponse("/ops/login", status_code=303))
    chosen = window if window in WINDOWS else "6h"
    context = {
        "client_id": agent.client_id,
        "operator_name": agent.name,
        "window": chosen,
        "windows": list(WINDOWS),
        "refresh_seconds": REFRESH_SECONDS,
        **await live_view(container_of(request), chosen),
    }
    context["live_summary"] = live_summary(context)
    return page(request, "ops_live.html" if partial else "ops.html", context)


async def live_view(container: Container, window: str) -> dict[str, Any]:
    """Everything the live part shows; a store that is down becomes a message, not a 500."""
    now = datetime.now(UTC)
    view: dict[str, Any] = {
        "as_of": now,
        "projections": await _projections(container),
        "groups": await _groups(container),
        **await lag_history(container, now),
    }
    view.update(await action_view(container, view["projections"]))
    view.update(grid=None, chart=None, analytics_error=None, by_status=[])
    dashboards = container.dashboards
    if dashboards is None:
        view["analytics_error"] = "Analytics is off (ORDERS_CLICKHOUSE_URL is empty)."
        return view
    interval, length = WINDOWS[window]
    try:
        by_place = await dashboards.stuck_orders(("region", "provider"), now=now)
        by_status = await dashboards.stuck_orders(("status",), now=now)
        series = await dashboards.order_series(interval, "none", now - length, now)
    except StoreUnavailable as error:
        log.warning("ops_page_analytics_unavailable", error=str(error)[:300])
        view["analytics_error"] = "The analytics store is not answering; retrying."
        return view
    view["grid"] = stuck_grid(by_place, sorted(container.gateways))
    view["by_status"] = by_status["groups"]
    view["sla"] = by_status["sla_seconds"]
    points = series["series"][0]["points"] if len(series["series"]) == 1 else []
    placed = [int(p["orders_placed"]) for p in points]
    declined = [int(p["declined"]) for p in points]
    times = [datetime.fromisoformat(t) for t in series["buckets"]]
    view["chart"] = orders_chart(times, placed, declined, step_seconds=STEPS[interval])
    view["totals"] = {"placed": sum(placed), "declined": sum(declined)}
    decided = sum(int(p["authorized"]) for p in points) + sum(declined)
    view["totals"]["decline_rate"] = sum(declined) / decided if decided else None
    return view


async def _projections(container: Container) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in container.projections:
        try:
            status = await container.admin.overview(name)
            status["error"] = None
        except (RedisError, SQLAlchemyError, OSError) as error:
            status = {"name": name, "error": f"status unavailable: {type(error).__name__}"}
        rows.append(status)
    return rows


async def _groups(container: Container) -> list[dict[str, Any]] | None:
    """Every consumer group on the stream; None when the stores cannot say."""
    try:
        return await container.admin.groups()
    except (RedisError, SQLAlchemyError, OSError) as error:
        log.warning("ops_page_groups_unavailable", error=str(error)[:300])
        return None
